//! Filters: the entries a user never wants stored (advertorials, 推广,
//! 直播预告, a column they do not read), as Miniflux's block and keep rules
//! and FreshRSS's filter actions.
//!
//! A rule blocks or keeps the entries whose title, content (its plain
//! text), link, author or one of whose categories matches a regex, or that
//! are older than an age:
//!
//! ```toml
//! filter = [{ block = "title", matches = "推广|广告" },
//!           { keep = "categories", matches = "A股" },
//!           { block = "age", older_than = "30d" }]
//! ```
//!
//! An entry is stored when no block rule matches it and, if there are keep
//! rules, one of them does. `[poll] filter` applies to every source, a
//! source's own `filter` to it as well. A regex that does not compile fails
//! loading the config, with its line.

use std::time::Duration;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::Deserialize;

/// One rule of a `filter` list.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Keep what matches (else block it).
    keep: bool,
    test: Test,
}

/// What a rule matches.
#[derive(Clone, Debug)]
enum Test {
    Field(Field, Regex),
    OlderThan(Duration),
}

/// The parts of an entry a rule may look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Title,
    Content,
    Link,
    Author,
    Categories,
}

/// An entry as the rules see it, new from a feed or stored.
pub struct Entry<'a> {
    pub title: &'a str,
    /// The whole content as plain text.
    pub content: &'a str,
    pub link: Option<&'a str>,
    pub author: &'a str,
    pub categories: &'a [String],
    pub published: Option<DateTime<Utc>>,
}

impl<'a> From<&'a super::Article> for Entry<'a> {
    fn from(article: &'a super::Article) -> Self {
        Entry {
            title: &article.title,
            content: &article.content.text,
            link: article.link.as_deref(),
            author: &article.author,
            categories: &article.categories,
            published: article.published,
        }
    }
}

impl Rule {
    fn matches(&self, entry: &Entry<'_>, now: DateTime<Utc>) -> bool {
        match &self.test {
            Test::OlderThan(age) => entry.published.is_some_and(|published| {
                chrono::Duration::from_std(*age).is_ok_and(|age| published < now - age)
            }),
            Test::Field(field, regex) => match field {
                Field::Title => regex.is_match(entry.title),
                Field::Content => regex.is_match(entry.content),
                Field::Link => entry.link.is_some_and(|link| regex.is_match(link)),
                Field::Author => regex.is_match(entry.author),
                Field::Categories => entry.categories.iter().any(|c| regex.is_match(c)),
            },
        }
    }

    /// The rule as written, for the source's fingerprint: a changed filter
    /// is a changed source.
    pub fn written(&self) -> String {
        let action = if self.keep { "keep" } else { "block" };
        match &self.test {
            Test::Field(field, regex) => format!("{action} {field:?} {}", regex.as_str()),
            Test::OlderThan(age) => format!("{action} age {}", age.as_secs()),
        }
    }
}

/// Whether `entry` passes `rules` at `now`: no block rule matches it, and a
/// keep rule does if there is any.
pub fn passes<'r>(
    rules: impl IntoIterator<Item = &'r Rule> + Clone,
    entry: &Entry<'_>,
    now: DateTime<Utc>,
) -> bool {
    let mut keeps = rules
        .clone()
        .into_iter()
        .filter(|rule| rule.keep)
        .peekable();
    let kept = keeps.peek().is_none() || keeps.any(|rule| rule.matches(entry, now));
    kept && !rules
        .into_iter()
        .any(|rule| !rule.keep && rule.matches(entry, now))
}

/// A rule as written in the config: one of `block` or `keep` naming what it
/// looks at, with `matches` (a regex) or, for `age`, `older_than`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenRule {
    block: Option<String>,
    keep: Option<String>,
    matches: Option<String>,
    #[serde(default, with = "humantime_serde")]
    older_than: Option<Duration>,
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let written = WrittenRule::deserialize(d)?;
        rule(written).map_err(serde::de::Error::custom)
    }
}

fn rule(written: WrittenRule) -> Result<Rule, String> {
    let (keep, on) = match (written.block, written.keep) {
        (Some(on), None) => (false, on),
        (None, Some(on)) => (true, on),
        _ => {
            return Err(
                "a filter rule is { block = \"WHAT\", ... } or { keep = \"WHAT\", ... }, \
                 WHAT one of title, content, link, author, categories, age"
                    .into(),
            );
        }
    };
    let field = match on.as_str() {
        "age" => {
            return match (written.older_than, written.matches) {
                (Some(age), None) => Ok(Rule {
                    keep,
                    test: Test::OlderThan(age),
                }),
                _ => Err("an `age` rule takes `older_than` (e.g. \"30d\"), not `matches`".into()),
            };
        }
        "title" => Field::Title,
        "content" => Field::Content,
        "link" => Field::Link,
        "author" => Field::Author,
        "categories" => Field::Categories,
        other => {
            return Err(format!(
                "a filter cannot look at `{other}`: title, content, link, author, categories or age"
            ));
        }
    };
    match (written.matches, written.older_than) {
        (Some(pattern), None) => Regex::new(&pattern)
            .map(|regex| Rule {
                keep,
                test: Test::Field(field, regex),
            })
            .map_err(|error| format!("`matches` is not a regex: {error}")),
        _ => Err(format!(
            "a `{on}` rule takes `matches` (a regex), not `older_than`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml_text: &str) -> Result<Vec<Rule>, String> {
        #[derive(Deserialize)]
        struct Table {
            filter: Vec<Rule>,
        }
        toml::from_str::<Table>(toml_text)
            .map(|table| table.filter)
            .map_err(|e| e.to_string())
    }

    fn entry<'a>(title: &'a str, categories: &'a [String], days_old: i64) -> Entry<'a> {
        Entry {
            title,
            content: "正文",
            link: Some("https://www.stcn.com/article/detail/1.html"),
            author: "证券时报网",
            categories,
            published: Some(now() - chrono::Duration::days(days_old)),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn block_keep_and_age_decide_together() {
        let rules = rules(
            r#"filter = [{ block = "title", matches = "推广|广告" },
                         { keep = "categories", matches = "A股" },
                         { block = "age", older_than = "30d" }]"#,
        )
        .unwrap();
        let a_shares = ["金融".to_string(), "A股".to_string()];
        let other = ["金融".to_string()];
        assert!(passes(
            &rules,
            &entry("宁德时代三季报", &a_shares, 1),
            now()
        ));
        assert!(!passes(
            &rules,
            &entry("【推广】开户送好礼", &a_shares, 1),
            now()
        ));
        assert!(!passes(&rules, &entry("宁德时代三季报", &other, 1), now()));
        assert!(!passes(
            &rules,
            &entry("宁德时代三季报", &a_shares, 31),
            now()
        ));
        assert!(passes(&[], &entry("【推广】", &other, 400), now()));
    }

    #[test]
    fn mistakes_are_named() {
        let error = rules(r#"filter = [{ block = "title", matches = "推广(" }]"#).unwrap_err();
        assert!(
            error.contains("not a regex") && error.contains("line 1"),
            "{error}"
        );
        let error = rules(r#"filter = [{ block = "body", matches = "x" }]"#).unwrap_err();
        assert!(error.contains("cannot look at `body`"), "{error}");
        let error = rules(r#"filter = [{ block = "age", matches = "x" }]"#).unwrap_err();
        assert!(error.contains("older_than"), "{error}");
    }
}
