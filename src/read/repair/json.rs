//! The second reading of a JSON Feed: values coerced to the types the
//! specification gives them, so one odd value does not cost the feed.
//!
//! JSON Feed says a reader must coerce an `id` that is a number to a string;
//! feed-rs refuses the whole feed instead, and the same for a missing title,
//! a tag that is a number or an attachment without a MIME type. Publishers
//! also write `http://jsonfeed.org/version/1`, which feed-rs does not know.

use std::ops::Range;

use serde_json::{Map, Value};

/// A JSON Feed with its items apart, so they can be read one by one.
#[derive(Debug)]
pub struct RepairedJson {
    head: Map<String, Value>,
    pub items: Vec<Value>,
    pub repairs: Vec<String>,
}

impl RepairedJson {
    /// The feed with only the items in `range`.
    pub fn with_items(&self, range: Range<usize>) -> String {
        let mut feed = self.head.clone();
        feed.insert("items".into(), Value::Array(self.items[range].to_vec()));
        Value::Object(feed).to_string()
    }
}

const VERSION: &str = "https://jsonfeed.org/version/1.1";
const FEED_STRINGS: [&str; 6] = [
    "home_page_url",
    "feed_url",
    "language",
    "description",
    "icon",
    "favicon",
];
const ITEM_STRINGS: [&str; 9] = [
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "date_published",
    "date_modified",
    "image",
];

/// `None` when the text is not a JSON object at all.
pub fn repair(text: &str) -> Option<RepairedJson> {
    let Value::Object(mut head) = serde_json::from_str(text.trim_start_matches('\u{FEFF}')).ok()?
    else {
        return None;
    };
    // Other JSON is no feed to repair.
    let version = head.get("version")?.as_str()?;
    if !version.contains("jsonfeed.org/version/") {
        return None;
    }
    let mut coerced = 0;
    let mut repairs = Vec::new();
    if !version.starts_with("https://jsonfeed.org/version/1") {
        repairs.push(format!("read version \"{version}\" as JSON Feed 1.1"));
        head.insert("version".into(), VERSION.into());
    }
    if !head.get("title").is_some_and(Value::is_string) {
        let title = head.get("title").and_then(scalar_text).unwrap_or_default();
        head.insert("title".into(), title.into());
    }
    coerced += coerce_strings(&mut head, &FEED_STRINGS);
    coerced += coerce_authors(&mut head);
    let mut items = Vec::new();
    let mut not_objects = 0;
    if let Some(Value::Array(raw)) = head.remove("items") {
        for item in raw {
            let Value::Object(mut item) = item else {
                not_objects += 1;
                continue;
            };
            match item.get("id") {
                Some(Value::String(_)) | None => {}
                Some(id) => {
                    let id = scalar_text(id);
                    coerced += 1;
                    match id {
                        Some(id) => item.insert("id".into(), id.into()),
                        None => item.remove("id"),
                    };
                }
            }
            coerced += coerce_strings(&mut item, &ITEM_STRINGS);
            coerced += coerce_authors(&mut item);
            coerced += coerce_tags(&mut item);
            coerced += coerce_attachments(&mut item);
            items.push(Value::Object(item));
        }
    }
    if coerced > 0 {
        repairs.push(format!(
            "coerced {coerced} values to the types JSON Feed gives them"
        ));
    }
    if not_objects > 0 {
        repairs.push(format!("skipped {not_objects} items that are not objects"));
    }
    Some(RepairedJson {
        head,
        items,
        repairs,
    })
}

/// A number or boolean written where text belongs, as that text.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Makes each named field a string or removes it; returns how many changed.
fn coerce_strings(object: &mut Map<String, Value>, fields: &[&str]) -> usize {
    let mut changed = 0;
    for field in fields {
        match object.get(*field) {
            None | Some(Value::String(_) | Value::Null) => {}
            Some(value) => {
                changed += 1;
                match scalar_text(value) {
                    Some(text) => object.insert((*field).into(), text.into()),
                    None => object.remove(*field),
                };
            }
        }
    }
    changed
}

fn coerce_authors(object: &mut Map<String, Value>) -> usize {
    let mut changed = 0;
    let mut author = |value: Value| match value {
        Value::Object(mut author) => {
            changed += coerce_strings(&mut author, &["name", "url", "avatar"]);
            Some(Value::Object(author))
        }
        Value::String(name) => {
            changed += 1;
            Some(serde_json::json!({ "name": name }))
        }
        _ => {
            changed += 1;
            None
        }
    };
    if let Some(value) = object.remove("author")
        && let Some(value) = author(value)
    {
        object.insert("author".into(), value);
    }
    if let Some(value) = object.remove("authors") {
        let authors: Vec<Value> = match value {
            Value::Array(values) => values.into_iter().filter_map(&mut author).collect(),
            other => author(other).into_iter().collect(),
        };
        object.insert("authors".into(), Value::Array(authors));
    }
    changed
}

fn coerce_tags(item: &mut Map<String, Value>) -> usize {
    let Some(value) = item.remove("tags") else {
        return 0;
    };
    let (tags, changed): (Vec<Value>, usize) = match value {
        Value::Array(values) => (
            values
                .iter()
                .filter_map(scalar_text)
                .map(Value::from)
                .collect(),
            values.iter().filter(|v| !v.is_string()).count(),
        ),
        other => (
            scalar_text(&other).map(Value::from).into_iter().collect(),
            1,
        ),
    };
    item.insert("tags".into(), Value::Array(tags));
    changed
}

fn coerce_attachments(item: &mut Map<String, Value>) -> usize {
    let Some(value) = item.remove("attachments") else {
        return 0;
    };
    let Value::Array(values) = value else {
        return 1;
    };
    let mut changed = 0;
    let attachments = values
        .into_iter()
        .filter_map(|value| {
            let Value::Object(mut attachment) = value else {
                changed += 1;
                return None;
            };
            changed += coerce_strings(&mut attachment, &["url", "mime_type", "title"]);
            if !attachment.get("url").is_some_and(Value::is_string) {
                changed += 1;
                return None;
            }
            if !attachment.get("mime_type").is_some_and(Value::is_string) {
                changed += 1;
                attachment.insert("mime_type".into(), "application/octet-stream".into());
            }
            if !attachment.get("size_in_bytes").is_none_or(Value::is_u64) {
                changed += 1;
                attachment.remove("size_in_bytes");
            }
            Some(Value::Object(attachment))
        })
        .collect();
    item.insert("attachments".into(), Value::Array(attachments));
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_strings_and_odd_values_go() {
        let feed = r#"{"version":"http://jsonfeed.org/version/1","items":[
            {"id":1,"title":"一","tags":["a",2],"attachments":[{"url":"https://a.example/x.png"}]},
            "not an item",
            {"id":"2","title":{"odd":true}}]}"#;
        let repaired = repair(feed).unwrap();
        assert_eq!(repaired.items.len(), 2);
        let whole: Value = serde_json::from_str(&repaired.with_items(0..2)).unwrap();
        assert_eq!(whole["version"], VERSION);
        assert_eq!(whole["title"], "");
        assert_eq!(whole["items"][0]["id"], "1");
        assert_eq!(whole["items"][0]["tags"], serde_json::json!(["a", "2"]));
        assert_eq!(
            whole["items"][0]["attachments"][0]["mime_type"],
            "application/octet-stream"
        );
        assert!(whole["items"][1].get("title").is_none());
        assert_eq!(repaired.repairs.len(), 3, "{:?}", repaired.repairs);
    }
}
