//! How a source without a feed says where its items are: CSS selectors into a
//! list page (`list = { … }`), or dot paths into a JSON document (`json = { … }`).
//! Each is checked when the config is read, so a typo is an error with its line,
//! never a source that quietly reads nothing.

use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::read::css::Css;

/// One field of a list item: a CSS selector inside the item (empty for the
/// item itself) and, after `@`, the attribute to take (`div.tt a@href`);
/// without one, the element's text.
#[derive(Clone, Debug)]
pub struct Field {
    written: String,
    css: Option<Css>,
    attr: Option<String>,
}

impl Field {
    /// The field as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// The elements of `item` the field names: the item itself without a selector.
    fn elements<'a>(&self, item: &dom_query::Selection<'a>) -> dom_query::Selection<'a> {
        match &self.css {
            Some(css) => css.select_in(item),
            None => item.clone(),
        }
    }

    /// The value of the first element that has one: its attribute, or its
    /// text with whitespace collapsed.
    pub fn value(&self, item: &dom_query::Selection<'_>) -> Option<String> {
        self.values(item).into_iter().next()
    }

    /// The values of every element the field names, in document order.
    pub fn values(&self, item: &dom_query::Selection<'_>) -> Vec<String> {
        self.elements(item)
            .nodes()
            .iter()
            .filter_map(|node| match &self.attr {
                Some(attr) => node.attr(attr).map(|value| value.trim().to_string()),
                None => Some(crate::text::collapse_whitespace(&node.text())),
            })
            .filter(|value| !value.is_empty())
            .collect()
    }

    /// The HTML inside the first element the field names (an attribute's
    /// value comes back escaped, as text).
    pub fn html(&self, item: &dom_query::Selection<'_>) -> Option<String> {
        if self.attr.is_some() {
            return self
                .value(item)
                .map(|text| html_escape::encode_text(&text).into_owned());
        }
        let elements = self.elements(item);
        let first = elements.nodes().first()?;
        let html = first.inner_html().trim().to_string();
        (!crate::text::html_to_text(&html).is_empty()).then_some(html)
    }
}

impl TryFrom<String> for Field {
    type Error = String;

    fn try_from(written: String) -> Result<Self, String> {
        static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^[A-Za-z_:][-A-Za-z0-9_:.]*$").expect("valid attribute regex")
        });
        // The last `@` outside an attribute selector (`a[href*="@"]`), followed by a name.
        let split = written.rfind('@').filter(|&at| {
            let before = &written[..at];
            before.matches('[').count() == before.matches(']').count()
                && ATTRIBUTE.is_match(&written[at + 1..])
        });
        let (css, attr) = match split {
            Some(at) => (&written[..at], Some(written[at + 1..].to_string())),
            None => (written.as_str(), None),
        };
        let css = css.trim();
        let css = match css {
            "" => None,
            css => Some(Css::try_from(css.to_string())?),
        };
        Ok(Field { written, css, attr })
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Field::try_from(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Where the fields of a list page's items are (a source's `list` table).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListSelectors {
    /// One element per item.
    pub items: Css,
    pub title: Field,
    pub link: Field,
    #[serde(default)]
    pub date: Option<Field>,
    /// A short text of the item, as HTML (sanitized like any content).
    #[serde(default)]
    pub summary: Option<Field>,
    /// The whole article, where the list carries it.
    #[serde(default)]
    pub content: Option<Field>,
    #[serde(default)]
    pub author: Option<Field>,
    #[serde(default)]
    pub image: Option<Field>,
    /// Every element it names is a category.
    #[serde(default)]
    pub categories: Option<Field>,
    /// The item's own id, for items without a link.
    #[serde(default)]
    pub id: Option<Field>,
    /// How the dates are written, when no form tidings knows fits (strftime).
    #[serde(default)]
    pub date_format: Option<String>,
}

/// A dot path into JSON: `data.list`, `tags[].name` (`[]`: each element),
/// `items[0]` (one element); empty for the whole document.
#[derive(Clone, Debug)]
pub struct JsonPath {
    written: String,
    steps: Vec<Step>,
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Each,
    Index(usize),
}

impl JsonPath {
    /// The path as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// Every value the path reaches from `root`; a path that ends on an
    /// array reaches its elements.
    pub fn values<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut reached = vec![root];
        for step in &self.steps {
            reached = reached
                .into_iter()
                .flat_map(|value| -> Vec<&'a Value> {
                    match (step, value) {
                        (Step::Key(key), Value::Object(map)) => map.get(key).into_iter().collect(),
                        (Step::Each, Value::Array(items)) => items.iter().collect(),
                        (Step::Index(i), Value::Array(items)) => {
                            items.get(*i).into_iter().collect()
                        }
                        _ => Vec::new(),
                    }
                })
                .collect();
        }
        reached
            .into_iter()
            .flat_map(|value| match value {
                Value::Array(items) => items.iter().collect(),
                value => vec![value],
            })
            .filter(|value| !value.is_null())
            .collect()
    }

    /// The texts the path reaches: strings as they are, numbers written out.
    pub fn texts(&self, root: &Value) -> Vec<String> {
        self.values(root)
            .into_iter()
            .filter_map(|value| match value {
                Value::String(text) => Some(text.trim().to_string()),
                Value::Number(number) => Some(match number.as_i64() {
                    Some(whole) => whole.to_string(),
                    None => number.to_string(),
                }),
                _ => None,
            })
            .filter(|text| !text.is_empty())
            .collect()
    }

    /// The first text the path reaches.
    pub fn text(&self, root: &Value) -> Option<String> {
        self.texts(root).into_iter().next()
    }
}

impl TryFrom<String> for JsonPath {
    type Error = String;

    fn try_from(written: String) -> Result<Self, String> {
        let mut steps = Vec::new();
        let bad = |why: &str| format!("`{written}` is not a JSON path: {why}");
        let path = written
            .trim()
            .trim_start_matches('$')
            .trim_start_matches('.');
        for segment in path.split('.').filter(|s| !s.is_empty()) {
            let (key, mut rest) = match segment.find('[') {
                Some(at) => (&segment[..at], &segment[at..]),
                None => (segment, ""),
            };
            if !key.is_empty() {
                steps.push(Step::Key(key.to_string()));
            }
            while !rest.is_empty() {
                let close = rest.find(']').ok_or_else(|| bad("an unclosed `[`"))?;
                let inside = rest[1..close].trim();
                steps.push(match inside {
                    "" | "*" => Step::Each,
                    index => Step::Index(
                        index
                            .parse()
                            .map_err(|_| bad("`[...]` holds an index or nothing"))?,
                    ),
                });
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(bad("a `.` must follow `]`"));
                }
            }
        }
        Ok(JsonPath { written, steps })
    }
}

impl<'de> Deserialize<'de> for JsonPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        JsonPath::try_from(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Where the fields of a JSON API's items are (a source's `json` table).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonPaths {
    /// The list of items.
    pub items: JsonPath,
    pub title: JsonPath,
    pub link: JsonPath,
    #[serde(default)]
    pub date: Option<JsonPath>,
    /// A short text of the item, as HTML (sanitized like any content).
    #[serde(default)]
    pub summary: Option<JsonPath>,
    /// The whole article, where the API carries it.
    #[serde(default)]
    pub content: Option<JsonPath>,
    #[serde(default)]
    pub author: Option<JsonPath>,
    #[serde(default)]
    pub image: Option<JsonPath>,
    #[serde(default)]
    pub categories: Option<JsonPath>,
    /// The item's own id, for items without a link.
    #[serde(default)]
    pub id: Option<JsonPath>,
    /// Read the JSON from this element of an HTML page (`script#__NEXT_DATA__`)
    /// instead of the whole body.
    #[serde(default, rename = "in")]
    pub inside: Option<Css>,
    /// How the dates are written, when no form tidings knows fits (strftime).
    #[serde(default)]
    pub date_format: Option<String>,
}

/// How a source's body is read; cheap to clone into every poll.
#[derive(Clone, Debug, Default)]
pub enum Reading {
    /// RSS, Atom or JSON Feed.
    #[default]
    Feed,
    /// An HTML page listing the items.
    List(Arc<ListSelectors>),
    /// A JSON API (or JSON in a page) listing the items.
    Json(Arc<JsonPaths>),
}

/// Each configured field of a `list` or `json` table with its selector or
/// path as written, in the order of the table's keys: `title` and `link`,
/// then those of the optional keys that are set.
macro_rules! configured_fields {
    ($table:expr) => {{
        let table = $table;
        let optional = [
            ("date", &table.date),
            ("summary", &table.summary),
            ("content", &table.content),
            ("author", &table.author),
            ("image", &table.image),
            ("categories", &table.categories),
            ("id", &table.id),
        ];
        [("title", Some(&table.title)), ("link", Some(&table.link))]
            .into_iter()
            .chain(
                optional
                    .into_iter()
                    .map(|(name, field)| (name, field.as_ref())),
            )
            .filter_map(|(name, field)| Some((name, field?.as_str().to_string())))
            .collect()
    }};
}

impl ListSelectors {
    /// Each configured field with its selector or path as written, in the
    /// order of the table's keys.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        configured_fields!(self)
    }
}

impl JsonPaths {
    /// Each configured field with its selector or path as written, in the
    /// order of the table's keys.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        configured_fields!(self)
    }
}

impl Reading {
    /// How the source is read, as written, for its config fingerprint.
    pub fn written(&self) -> String {
        let (items, fields, extra) = match self {
            Reading::Feed => return String::new(),
            Reading::List(list) => (list.items.as_str(), list.fields(), None),
            Reading::Json(json) => (
                json.items.as_str(),
                json.fields(),
                json.inside
                    .as_ref()
                    .map(|css| format!("in={};", css.as_str())),
            ),
        };
        let fields: String = fields
            .iter()
            .map(|(name, written)| format!("{name}={written};"))
            .collect();
        let format = self
            .date_format()
            .map(|f| format!("date_format={f};"))
            .unwrap_or_default();
        format!(
            "items={items};{fields}{}{format}",
            extra.unwrap_or_default()
        )
    }

    /// The date format the source gives, if any.
    pub fn date_format(&self) -> Option<&str> {
        match self {
            Reading::Feed => None,
            Reading::List(list) => list.date_format.as_deref(),
            Reading::Json(json) => json.date_format.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_a_selector_and_maybe_an_attribute() {
        let field = Field::try_from("div.tt a@href".to_string()).unwrap();
        assert_eq!(field.attr.as_deref(), Some("href"));
        assert_eq!(field.css.as_ref().unwrap().as_str(), "div.tt a");
        let field = Field::try_from(r#"a[href*="@"]"#.to_string()).unwrap();
        assert_eq!(field.attr, None);
        let field = Field::try_from("@data-id".to_string()).unwrap();
        assert!(field.css.is_none());
        assert!(Field::try_from("div[".to_string()).is_err());
    }

    #[test]
    fn json_paths_reach_each_element() {
        let value: Value = serde_json::from_str(
            r#"{"data":[{"title":"一","tags":[{"name":"A股"},{"name":"券商"}],"time":1749960000},{"title":"二"}]}"#,
        )
        .unwrap();
        let path = |p: &str| JsonPath::try_from(p.to_string()).unwrap();
        assert_eq!(path("data").values(&value).len(), 2);
        let first = path("data").values(&value)[0];
        assert_eq!(path("tags[].name").texts(first), ["A股", "券商"]);
        assert_eq!(path("time").text(first).as_deref(), Some("1749960000"));
        assert_eq!(path("data[1].title").text(&value).as_deref(), Some("二"));
        assert_eq!(path("").values(&value).len(), 1);
        assert!(JsonPath::try_from("a[x]".to_string()).is_err());
    }
}
