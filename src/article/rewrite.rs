//! A source's rewrite rules: the user's edits to its articles' HTML, applied
//! in order before sanitizing.
//!
//! Publishers fill their articles with markup that means something on their
//! site and nothing in a reader: 证券时报网 turns every stock name into a
//! quote link (`<a class="trsHotWords">`), pages carry ad slots and share
//! bars. Rules run before the sanitizer, which drops `class` and `id`, so
//! they can name what the publisher named:
//!
//! - `{ unwrap = "CSS" }` keeps an element's content and drops the element
//!   (the stock name stays, the quote link goes);
//! - `{ remove = "CSS" }` drops the element with its content;
//! - `{ replace = "regex", with = "text" }` rewrites the HTML text (`$1` and
//!   `${name}` name the regex's groups), for what no element encloses, such
//!   as a `责任编辑：…` line.
//!
//! A replacement may write any markup: the sanitizer runs after the rules.

use std::sync::Arc;

use dom_query::Document;

use crate::read::css::Css;
use regex::Regex;
use serde::Deserialize;

/// One rule of a source's `rewrite` list.
#[derive(Clone, Debug)]
pub enum Rule {
    Unwrap(Css),
    Remove(Css),
    Replace { pattern: Regex, with: String },
}

/// A rule as written in the config: a table with exactly one action.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenRule {
    unwrap: Option<String>,
    remove: Option<String>,
    replace: Option<String>,
    with: Option<String>,
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let written = WrittenRule::deserialize(d)?;
        let rule = match written {
            WrittenRule {
                unwrap: Some(css),
                remove: None,
                replace: None,
                with: None,
            } => Css::try_from(css).map(Rule::Unwrap),
            WrittenRule {
                unwrap: None,
                remove: Some(css),
                replace: None,
                with: None,
            } => Css::try_from(css).map(Rule::Remove),
            WrittenRule {
                unwrap: None,
                remove: None,
                replace: Some(pattern),
                with,
            } => Regex::new(&pattern)
                .map(|pattern| Rule::Replace {
                    pattern,
                    with: with.unwrap_or_default(),
                })
                .map_err(|error| format!("`replace` is not a regex: {error}")),
            _ => Err(
                "a rewrite rule is one of { unwrap = \"CSS\" }, { remove = \"CSS\" } \
                      or { replace = \"regex\", with = \"text\" }"
                    .into(),
            ),
        };
        rule.map_err(serde::de::Error::custom)
    }
}

impl Rule {
    /// The rule as written, for the fingerprint of a rule list.
    fn written(&self) -> String {
        match self {
            Rule::Unwrap(css) => format!("unwrap {}", css.as_str()),
            Rule::Remove(css) => format!("remove {}", css.as_str()),
            Rule::Replace { pattern, with } => format!("replace {pattern} with {with}"),
        }
    }
}

/// A source's rules, cheap to clone into every poll.
#[derive(Clone, Debug, Default)]
pub struct Rewrite {
    rules: Arc<[Rule]>,
    /// Changes whenever a rule does: what an article was made with.
    fingerprint: String,
}

impl<'de> Deserialize<'de> for Rewrite {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Rewrite::new(Vec::<Rule>::deserialize(d)?))
    }
}

impl Rewrite {
    pub fn new(rules: Vec<Rule>) -> Rewrite {
        let fingerprint = rules
            .iter()
            .map(Rule::written)
            .collect::<Vec<_>>()
            .join("\n");
        Rewrite {
            rules: rules.into(),
            fingerprint,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules as written, one a line: equal fingerprints, equal results.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Applies every rule, in order, to an HTML fragment. Consecutive element
    /// rules share one parse of the fragment.
    pub fn apply(&self, html: &str) -> String {
        let mut html = html.to_string();
        let mut rules = &self.rules[..];
        while let Some(rule) = rules.first() {
            if let Rule::Replace { pattern, with } = rule {
                html = pattern.replace_all(&html, with.as_str()).into_owned();
                rules = &rules[1..];
                continue;
            }
            let run = rules
                .iter()
                .take_while(|rule| !matches!(rule, Rule::Replace { .. }))
                .count();
            html = edit_elements(&html, &rules[..run]);
            rules = &rules[run..];
        }
        html
    }
}

/// Applies `unwrap` and `remove` rules to one parse of `html`.
fn edit_elements(html: &str, rules: &[Rule]) -> String {
    let document = Document::fragment(html);
    for rule in rules {
        match rule {
            Rule::Remove(css) => css.select(&document).remove(),
            Rule::Unwrap(css) => {
                // Innermost first, so an unwrapped element inside another
                // matched one is handled before its parent moves.
                for element in css.select(&document).nodes().iter().rev() {
                    match element.first_child() {
                        // Moves the children before the element and drops it.
                        Some(child) => child.unwrap_node(),
                        None => element.remove_from_parent(),
                    }
                }
            }
            Rule::Replace { .. } => unreachable!("replace rules are applied to the text"),
        }
    }
    // A fragment is parsed into an `<html>` element; its content is the fragment.
    document.html_root().inner_html().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml_text: &str) -> Result<Rewrite, String> {
        #[derive(Deserialize)]
        struct Table {
            rewrite: Rewrite,
        }
        toml::from_str::<Table>(toml_text)
            .map(|t| t.rewrite)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn unwrap_keeps_the_text_and_remove_drops_it() {
        let rewrite = rules(
            r#"rewrite = [{ unwrap = "a.trsHotWords" }, { remove = ".ad" }, { replace = "责任编辑：[^<]*", with = "" }]"#,
        )
        .unwrap();
        let html = r#"<p>据<a class="trsHotWords" href="http://q.stcn.com/1">平安<b>银行</b></a>公告，<a href="https://x.example/">原文</a></p><div class="ad"><p>广告</p></div><p>责任编辑：王一</p>"#;
        assert_eq!(
            rewrite.apply(html),
            r#"<p>据平安<b>银行</b>公告，<a href="https://x.example/">原文</a></p><p></p>"#
        );
    }

    #[test]
    fn nested_matches_and_empty_elements_are_unwrapped() {
        let rewrite = rules(r#"rewrite = [{ unwrap = "span" }]"#).unwrap();
        assert_eq!(
            rewrite.apply("<p><span>外<span>内</span></span><span></span>尾</p>"),
            "<p>外内尾</p>"
        );
    }

    #[test]
    fn mistakes_are_reported_when_the_config_is_read() {
        let err = rules(r#"rewrite = [{ unwrap = "a[" }]"#).unwrap_err();
        assert!(err.contains("not a CSS selector"), "{err}");
        let err = rules(r#"rewrite = [{ replace = "(" }]"#).unwrap_err();
        assert!(err.contains("not a regex"), "{err}");
        let err = rules(r#"rewrite = [{ unwrap = "a", remove = "b" }]"#).unwrap_err();
        assert!(err.contains("one of"), "{err}");
        let err = rules(r#"rewrite = [{ drop = "a" }]"#).unwrap_err();
        assert!(err.contains("drop"), "{err}");
    }

    #[test]
    fn the_fingerprint_follows_the_rules() {
        let a = rules(r#"rewrite = [{ remove = ".ad" }]"#).unwrap();
        let b = rules(r#"rewrite = [{ remove = ".ads" }]"#).unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(Rewrite::default().apply("<p>x</p>"), "<p>x</p>");
    }
}
