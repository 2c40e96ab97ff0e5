//! CSS selectors as users write them (`content_selector`, rewrite rules,
//! list pages), checked when the config is read so that a typo is an error
//! with its line, never a selector that quietly matches nothing.

use dom_query::{Document, Matcher};
use serde::Deserialize;

/// A CSS selector, checked when the config is read.
#[derive(Clone, Debug)]
pub struct Css {
    written: String,
    matcher: Matcher,
}

impl Css {
    /// The selector as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// The elements of `document` it selects, in document order.
    pub fn select<'a>(&self, document: &'a Document) -> dom_query::Selection<'a> {
        document.select_matcher(&self.matcher)
    }

    /// The elements below `within` it selects, in document order.
    pub fn select_in<'a>(&self, within: &dom_query::Selection<'a>) -> dom_query::Selection<'a> {
        within.select_matcher(&self.matcher)
    }
}

impl TryFrom<String> for Css {
    type Error = String;

    fn try_from(written: String) -> Result<Self, String> {
        let matcher = Matcher::new(&written)
            .map_err(|error| format!("`{written}` is not a CSS selector: {error:?}"))?;
        Ok(Css { written, matcher })
    }
}

impl<'de> Deserialize<'de> for Css {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Css::try_from(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
