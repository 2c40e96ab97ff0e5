//! Dates as list pages and JSON APIs write them: times without a day,
//! days without a year, counts back (`5分钟前`), named days (`昨天`), unix
//! times, and whatever a source's `date_format` names; each read in the
//! source's timezone as of the time of reading.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use regex::Regex;

use crate::read::dates::{localize, parse_date};

/// A date read from a list page or an API, and whether it is only roughly
/// known: `5分钟前` read a minute later says `6分钟前`, so such a date must
/// not make an unchanged item look edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    pub at: DateTime<Utc>,
    /// Counted back from the time of reading (`刚刚`, `N分钟前`, `N小时前`, `N天前`).
    pub rough: bool,
}

/// Reads a date as list pages and JSON APIs write it, in `timezone`, as of
/// `now`: the user's `format` (strftime) first when given, then unix seconds
/// or milliseconds, `刚刚` and `N分钟前`-style counts back, `今天`/`昨天`/`前天 10:32`,
/// a time alone (today, or yesterday when that would be in the future), a
/// month and day without a year (this year, or last year when that would be
/// in the future), and every form of [`parse_date`]. Text around the date
/// (`发布时间：…`, `来源：证券时报 …`) is looked through for the date in it.
pub fn parse_listed(
    text: &str,
    timezone: Tz,
    now: DateTime<Utc>,
    format: Option<&str>,
) -> Option<Listed> {
    let text = ascii_digits(text);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let exact = |at| Listed { at, rough: false };
    if let Some(at) = format.and_then(|format| with_format(text, format, timezone, now)) {
        return Some(exact(at));
    }
    listed_form(text, timezone, now)
        .or_else(|| parse_date(text, timezone).map(exact))
        .or_else(|| {
            // A date inside other words: the first stretch that reads as one.
            DATE_IN_TEXT.find_iter(text).find_map(|found| {
                listed_form(found.as_str(), timezone, now)
                    .or_else(|| parse_date(found.as_str(), timezone).map(exact))
            })
        })
        .filter(|listed| (1..=9999).contains(&listed.at.year()))
}

/// A number of seconds (or milliseconds) since 1970, as APIs send times.
pub fn from_unix(number: i64) -> Option<DateTime<Utc>> {
    // Ten digits are seconds until the year 2286; thirteen are milliseconds.
    if number.abs() >= 100_000_000_000 {
        DateTime::from_timestamp_millis(number)
    } else {
        DateTime::from_timestamp(number, 0)
    }
}

/// Stretches of text that look like one of the dates list pages write.
static DATE_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}\s*[:时]\s*\d{1,2}(?:\s*[:分]\s*\d{1,2})?)?",
        r"|(?:今天|昨天|前天)\s*\d{1,2}:\d{2}(?::\d{2})?",
        r"|\d{1,2}\s*[-/月]\s*\d{1,2}\s*日?\s+\d{1,2}:\d{2}(?::\d{2})?",
        r"|\d+\s*(?:秒|分钟|小时|天)前|刚刚",
        r"|\d{1,2}:\d{2}(?::\d{2})?",
    ))
    .expect("valid date-in-text regex")
});

/// The forms that only list pages write: counts back, named days, times and
/// month-days without a year, unix times.
fn listed_form(text: &str, timezone: Tz, now: DateTime<Utc>) -> Option<Listed> {
    static BACK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\d+)\s*(秒|分钟|分鐘|小时|小時|天)(?:之)?前$").expect("valid regex")
    });
    static DAY_AND_TIME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(今天|今日|昨天|昨日|前天)?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?$")
            .expect("valid regex")
    });
    static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
            .expect("valid regex")
    });
    let rough = |at| Some(Listed { at, rough: true });
    let exact = |at| Some(Listed { at, rough: false });
    if text == "刚刚" {
        return rough(now);
    }
    if let Some(back) = BACK.captures(text) {
        let count: i64 = back[1].parse().ok()?;
        let unit = match &back[2] {
            "秒" => chrono::TimeDelta::try_seconds(count)?,
            "分钟" | "分鐘" => chrono::TimeDelta::try_minutes(count)?,
            "小时" | "小時" => chrono::TimeDelta::try_hours(count)?,
            _ => chrono::TimeDelta::try_days(count)?,
        };
        return rough(now.checked_sub_signed(unit)?);
    }
    if text.len() >= 10 && text.bytes().all(|b| b.is_ascii_digit()) {
        return exact(from_unix(text.parse().ok()?)?);
    }
    let local_now = now.with_timezone(&timezone).naive_local();
    if let Some(c) = DAY_AND_TIME.captures(text) {
        let days_back = match c.get(1).map(|m| m.as_str()) {
            None | Some("今天" | "今日") => 0,
            Some("昨天" | "昨日") => 1,
            _ => 2,
        };
        let time = NaiveTime::from_hms_opt(
            c[2].parse().ok()?,
            c[3].parse().ok()?,
            c.get(4).map_or(Some(0), |s| s.as_str().parse().ok())?,
        )?;
        let day = local_now.date() - chrono::TimeDelta::days(days_back);
        let mut at = localize(day.and_time(time), None, timezone)?;
        if c.get(1).is_none() && at > now {
            at = localize(
                (day - chrono::TimeDelta::days(1)).and_time(time),
                None,
                timezone,
            )?;
        }
        return exact(at);
    }
    if let Some(c) = MONTH_DAY.captures(text) {
        let (month, day) = (c[1].parse().ok()?, c[2].parse().ok()?);
        let time = match c.get(3) {
            Some(hour) => NaiveTime::from_hms_opt(
                hour.as_str().parse().ok()?,
                c[4].parse().ok()?,
                c.get(5).map_or(Some(0), |s| s.as_str().parse().ok())?,
            )?,
            None => NaiveTime::MIN,
        };
        let in_year = |year| {
            NaiveDate::from_ymd_opt(year, month, day)
                .and_then(|date| localize(date.and_time(time), None, timezone))
        };
        let year = local_now.year();
        return match in_year(year) {
            Some(at) if at <= now => exact(at),
            // 29 February of a year that has none is last leap year's, or nothing.
            _ => exact(in_year(year - 1)?),
        };
    }
    None
}

/// A date in the user's strftime `format`; a format without a year is this
/// year's (last year's when that would be in the future), one without a
/// date is today's.
fn with_format(
    text: &str,
    format: &str,
    timezone: Tz,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let has = |spec: &[&str]| spec.iter().any(|s| format.contains(s));
    if has(&["%z", "%:z", "%#z", "%Z", "%+", "%s"]) {
        return DateTime::parse_from_str(text, format)
            .ok()
            .map(|d| d.to_utc());
    }
    let local_now = now.with_timezone(&timezone).naive_local();
    if has(&["%Y", "%y", "%G", "%g", "%C", "%D", "%F", "%x", "%c"]) {
        let naive = NaiveDateTime::parse_from_str(text, format)
            .ok()
            .or_else(|| {
                NaiveDate::parse_from_str(text, format)
                    .ok()
                    .map(|d| d.and_time(NaiveTime::MIN))
            })?;
        return localize(naive, None, timezone);
    }
    if has(&["%m", "%b", "%B", "%h", "%d", "%e", "%j"]) {
        let this_year = local_now.year();
        for year in [this_year, this_year - 1] {
            let with_year = format!("{text} {year}");
            let with_format = format!("{format} %Y");
            let naive = NaiveDateTime::parse_from_str(&with_year, &with_format)
                .ok()
                .or_else(|| {
                    NaiveDate::parse_from_str(&with_year, &with_format)
                        .ok()
                        .map(|d| d.and_time(NaiveTime::MIN))
                });
            if let Some(at) = naive.and_then(|naive| localize(naive, None, timezone))
                && (at <= now || year < this_year)
            {
                return Some(at);
            }
        }
        return None;
    }
    let time = NaiveTime::parse_from_str(text, format).ok()?;
    let today = localize(local_now.date().and_time(time), None, timezone)?;
    if today <= now {
        Some(today)
    } else {
        localize(
            (local_now.date() - chrono::TimeDelta::days(1)).and_time(time),
            None,
            timezone,
        )
    }
}

/// Full-width digits and colons (`１０：３２`) as ASCII, which sites mix in.
fn ascii_digits(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii()
        || !text
            .chars()
            .any(|c| ('０'..='９').contains(&c) || c == '：')
    {
        return text.into();
    }
    text.chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '：' => ':',
            c => c,
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::dates::{from_db, to_db};
    use chrono_tz::Asia::Shanghai;

    fn listed(text: &str, now: &str) -> Option<(String, bool)> {
        let now = from_db(now).unwrap();
        parse_listed(text, Shanghai, now, None).map(|l| (to_db(l.at), l.rough))
    }

    #[test]
    fn list_page_dates_in_every_form() {
        // 2025-06-15 12:00 in Beijing.
        let now = "2025-06-15T04:00:00Z";
        for (text, utc, rough) in [
            ("10:32", "2025-06-15T02:32:00Z", false),
            ("13:05", "2025-06-14T05:05:00Z", false), // later than now: yesterday
            ("今天 10:32", "2025-06-15T02:32:00Z", false),
            ("昨天 10:32", "2025-06-14T02:32:00Z", false),
            ("前天 23:59", "2025-06-13T15:59:00Z", false),
            ("06-14 09:15", "2025-06-14T01:15:00Z", false),
            ("6月14日 09:15", "2025-06-14T01:15:00Z", false),
            ("12-31 23:50", "2024-12-31T15:50:00Z", false), // later than now: last year
            ("2025-06-01 08:00", "2025-06-01T00:00:00Z", false),
            ("2025年06月01日 08:00", "2025-06-01T00:00:00Z", false),
            ("刚刚", "2025-06-15T04:00:00Z", true),
            ("5分钟前", "2025-06-15T03:55:00Z", true),
            ("2小时前", "2025-06-15T02:00:00Z", true),
            ("3天前", "2025-06-12T04:00:00Z", true),
            ("1749960000", "2025-06-15T04:00:00Z", false),
            ("1749960000000", "2025-06-15T04:00:00Z", false),
            ("１０：３２", "2025-06-15T02:32:00Z", false),
            ("发布时间：2025-06-01 08:00", "2025-06-01T00:00:00Z", false),
            ("证券时报网 06-14 09:15", "2025-06-14T01:15:00Z", false),
        ] {
            assert_eq!(listed(text, now), Some((utc.to_string(), rough)), "{text}");
        }
        assert_eq!(listed("证券时报网", now), None);
        assert_eq!(listed("", now), None);
    }

    #[test]
    fn list_page_dates_across_the_new_year() {
        // 00:10 on 1 January 2026 in Beijing.
        let now = "2025-12-31T16:10:00Z";
        assert_eq!(
            listed("12-31 23:50", now),
            Some(("2025-12-31T15:50:00Z".into(), false))
        );
        assert_eq!(
            listed("23:50", now),
            Some(("2025-12-31T15:50:00Z".into(), false))
        );
        assert_eq!(
            listed("01-01 00:05", now),
            Some(("2025-12-31T16:05:00Z".into(), false))
        );
    }

    #[test]
    fn a_date_format_reads_what_nothing_else_does() {
        let now = from_db("2025-06-15T04:00:00Z").unwrap();
        let read =
            |text, format| parse_listed(text, Shanghai, now, Some(format)).map(|l| to_db(l.at));
        assert_eq!(
            read("15/06/2025 08h30", "%d/%m/%Y %Hh%M").as_deref(),
            Some("2025-06-15T00:30:00Z")
        );
        assert_eq!(
            read("14.06 um 09:15", "%d.%m um %H:%M").as_deref(),
            Some("2025-06-14T01:15:00Z")
        );
        assert_eq!(
            read("20.06 um 09:15", "%d.%m um %H:%M").as_deref(),
            Some("2024-06-20T01:15:00Z")
        );
    }
}
