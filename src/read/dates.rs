//! Reading the dates real feeds write.
//!
//! Feeds are supposed to use RFC 822/2822 (RSS) or RFC 3339 (Atom). Many do not:
//! weekdays that do not match, full month names, `UTC` or `CST` as a zone, no
//! zone at all, ISO dates with a space, and on Chinese sites `2022年01月26日 15:54`.
//! A date without a zone is read in the source's timezone, which is how the site
//! meant it.

use std::sync::LazyLock;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use regex::Regex;

/// Parses a feed date; `None` when the text is not a date we can read.
pub fn parse_date(text: &str, timezone: Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    numeric(text, timezone)
        .or_else(|| textual(text, timezone))
        // Only years the stored form `YYYY-MM-DDTHH:MM:SSZ` can hold.
        .filter(|date| (1..=9999).contains(&date.year()))
}

/// The numeric forms [`numeric`] reads.
static FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?",
        r"(?:\s*[T\s]?\s*(\d{1,2})\s*[:时]\s*(\d{1,2})\s*分?(?:\s*:?\s*(\d{1,2}(?:\.\d+)?)\s*秒?)?)?",
        r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
    ))
    .expect("valid date regex")
});

/// Compiles the patterns of dates ahead of their first use (see
/// `run::poll::compile_patterns`).
pub fn compile_patterns() {
    LazyLock::force(&FORM);
}

/// Numeric forms: RFC 3339, ISO 8601 with a space or `/`, and the Chinese
/// `年月日` form, each with or without a time and a zone.
fn numeric(text: &str, timezone: Tz) -> Option<DateTime<Utc>> {
    let c = FORM.captures(text)?;
    let number = |i: usize| c.get(i).map(|m| m.as_str().parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?)?;
    let seconds = c
        .get(6)
        .map(|m| {
            m.as_str()
                .split('.')
                .next()
                .unwrap_or("0")
                .parse::<u32>()
                .ok()
        })
        .unwrap_or(Some(0))?;
    let time = NaiveTime::from_hms_opt(
        number(4).unwrap_or(Some(0))?,
        number(5).unwrap_or(Some(0))?,
        seconds.min(59),
    )?;
    let offset = match c.get(7) {
        Some(zone) => Some(zone_offset(zone.as_str(), timezone)?),
        None => None,
    };
    localize(date.and_time(time), offset, timezone)
}

/// RFC 822/2822 and its common mistakes: day and month in either order, full or
/// abbreviated names, a wrong or missing weekday, two-digit years, missing
/// seconds, and named or numeric zones (with or without a colon).
fn textual(text: &str, timezone: Tz) -> Option<DateTime<Utc>> {
    let mut day = None;
    let mut month = None;
    let mut year = None;
    let mut time = None;
    let mut offset = None;
    for token in text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
    {
        if let Some(m) = month_number(token) {
            month = Some(m);
        } else if token.contains(':') && time.is_none() {
            time = Some(clock(token)?);
        } else if token.chars().all(|c| c.is_ascii_digit()) {
            let value: i32 = token.parse().ok()?;
            if token.len() <= 2 && day.is_none() {
                day = Some(value as u32);
            } else if year.is_none() && matches!(token.len(), 2 | 4) {
                // Two digits or four: a stored date must stay `YYYY-...`.
                year = Some(match (token.len(), value) {
                    (2, v) if v < 70 => 2000 + v,
                    (2, v) => 1900 + v,
                    (_, v) => v,
                });
            } else {
                return None;
            }
        } else if is_weekday(token) {
            continue;
        } else if time.is_some() && offset.is_none() {
            offset = Some(zone_offset(token, timezone)?);
        } else {
            return None;
        }
    }
    let date = NaiveDate::from_ymd_opt(year?, month?, day?)?;
    localize(date.and_time(time.unwrap_or_default()), offset, timezone)
}

fn clock(token: &str) -> Option<NaiveTime> {
    let mut parts = token
        .split(':')
        .map(|p| p.split('.').next().unwrap_or(p).parse::<u32>());
    let hour = parts.next()?.ok()?;
    let minute = parts.next()?.ok()?;
    let second = parts.next().map(|s| s.ok()).unwrap_or(Some(0))?;
    NaiveTime::from_hms_opt(hour, minute, second.min(59))
}

fn month_number(token: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = token.trim_end_matches('.').to_ascii_lowercase();
    if lower.len() < 3 || !lower.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let index = MONTHS.iter().position(|m| lower.starts_with(m))?;
    // "March" and "Mar" are months; "Marchese" or "Mon" are not.
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    (lower.len() == 3 || full[index].starts_with(&lower) || lower == "sept")
        .then_some(index as u32 + 1)
}

fn is_weekday(token: &str) -> bool {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let lower = token.trim_end_matches('.').to_ascii_lowercase();
    lower.len() >= 3 && DAYS.iter().any(|d| lower.starts_with(d))
}

/// A zone written as an offset or a name; `None` when it is neither.
fn zone_offset(zone: &str, timezone: Tz) -> Option<FixedOffset> {
    let hours = |h: i32| FixedOffset::east_opt(h * 3600);
    let upper = zone
        .trim_matches(|c| c == '(' || c == ')')
        .to_ascii_uppercase();
    match upper.as_str() {
        "Z" | "UT" | "UTC" | "GMT" => hours(0),
        "EST" => hours(-5),
        "EDT" => hours(-4),
        "CDT" => hours(-5),
        "MST" | "PDT" => hours(-7),
        "MDT" => hours(-6),
        "PST" => hours(-8),
        "HKT" | "BJT" => hours(8),
        // China Standard Time on Chinese sites, US Central elsewhere.
        "CST" => {
            let local = timezone
                .offset_from_utc_datetime(&Utc::now().naive_utc())
                .fix();
            hours(if local.local_minus_utc() == 8 * 3600 {
                8
            } else {
                -6
            })
        }
        _ => {
            let sign = match upper.chars().next()? {
                '+' => 1,
                '-' => -1,
                _ => return None,
            };
            let digits: String = upper[1..].chars().filter(|c| *c != ':').collect();
            if !digits.chars().all(|c| c.is_ascii_digit()) || !(2..=4).contains(&digits.len()) {
                return None;
            }
            let h: i32 = digits[..2].parse().ok()?;
            let m: i32 = digits
                .get(2..)
                .filter(|m| !m.is_empty())
                .map_or(Ok(0), str::parse)
                .ok()?;
            FixedOffset::east_opt(sign * (h * 3600 + m * 60))
        }
    }
}

pub(in crate::read) fn localize(
    local: NaiveDateTime,
    offset: Option<FixedOffset>,
    timezone: Tz,
) -> Option<DateTime<Utc>> {
    match offset {
        Some(offset) => offset
            .from_local_datetime(&local)
            .single()
            .map(|d| d.to_utc()),
        None => timezone
            .from_local_datetime(&local)
            .earliest()
            .map(|d| d.to_utc()),
    }
}

/// The one text form dates are stored in: UTC, seconds, `Z`. Plain SQL can compare
/// and `date()` it.
pub fn to_db(date: DateTime<Utc>) -> String {
    // The RFC 3339 writer gives this form for years 1 to 9999, the only ones
    // stored, without interpreting a format string on every call.
    date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reads a date stored by [`to_db`].
pub fn from_db(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|d| d.to_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn utc(text: &str) -> String {
        to_db(parse_date(text, Shanghai).unwrap_or_else(|| panic!("could not parse {text:?}")))
    }

    #[test]
    fn the_reference_article_date_in_every_form() {
        // 2022-01-26 15:54 in Beijing is 07:54 GMT, the seed's date.
        for text in [
            "Wed, 26 Jan 2022 07:54:00 GMT",
            "Wed, 26 Jan 2022 07:54:00 +0000",
            "26 Jan 2022 07:54:00 UTC",
            "Wednesday, 26 January 2022 15:54:00 +0800",
            "Mon, 26 Jan 2022 15:54:00 +08:00",
            "Wed, 26 Jan 2022 15:54 CST",
            "Jan 26 2022 15:54:00 +0800",
            "Wed, 26 Jan 22 07:54:00 GMT",
            "2022-01-26T07:54:00Z",
            "2022-01-26T15:54:00+08:00",
            "2022-01-26T15:54:00.123+08:00",
            "2022-01-26T15:54:00+0800",
            "2022-01-26 15:54:00",
            "2022-01-26 15:54",
            "2022/01/26 15:54:00",
            "2022年01月26日 15:54",
            "2022年1月26日 15:54:00",
            "2022年01月26日15时54分",
        ] {
            assert_eq!(utc(text), "2022-01-26T07:54:00Z", "{text}");
        }
    }

    #[test]
    fn a_date_alone_is_midnight_in_the_source_zone() {
        assert_eq!(utc("2022年01月26日"), "2022-01-25T16:00:00Z");
        assert_eq!(utc("2022-01-26"), "2022-01-25T16:00:00Z");
        let in_utc = parse_date("2022-01-26 15:54:00", chrono_tz::UTC).unwrap();
        assert_eq!(to_db(in_utc), "2022-01-26T15:54:00Z");
    }

    #[test]
    fn nonsense_is_not_a_date() {
        for text in [
            "",
            "yesterday",
            "2022-13-45",
            "32 Jan 2022 10:00:00 GMT",
            "Mon, 26 Jan",
            "12:00",
        ] {
            assert_eq!(parse_date(text, Shanghai), None, "{text}");
        }
    }

    #[test]
    fn stored_form_is_four_digit_years_to_the_second() {
        for (year, text) in [
            (1, "0001-02-03T04:05:06Z"),
            (999, "0999-02-03T04:05:06Z"),
            (9999, "9999-02-03T04:05:06Z"),
        ] {
            let date = Utc.with_ymd_and_hms(year, 2, 3, 4, 5, 6).unwrap()
                + chrono::TimeDelta::milliseconds(789);
            assert_eq!(to_db(date), text);
        }
    }

    #[test]
    fn stored_form_round_trips() {
        let date = parse_date("2022-01-26T07:54:00Z", Shanghai).unwrap();
        assert_eq!(from_db(&to_db(date)), Some(date));
    }
}
