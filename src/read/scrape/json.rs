//! A JSON API read with dot paths, or JSON that a page carries in one of its
//! elements (`<script id="__NEXT_DATA__">`, `window.__STATE__ = {…}`).

use serde_json::Value;
use url::Url;

use super::{Item, JsonPath, JsonPaths, Listing, ScrapeError, base_of};

/// The items of `text`, the body fetched from `url`.
pub(super) fn read(text: &str, url: &Url, json: &JsonPaths) -> Result<Listing, ScrapeError> {
    let (value, base, title) = match &json.inside {
        Some(css) => {
            let document = dom_query::Document::from(text);
            let element = css.select(&document);
            let Some(first) = element.nodes().first() else {
                return Err(ScrapeError::NoElement(css.as_str().to_string()));
            };
            let title = crate::text::collapse_whitespace(&document.select("title").text());
            (
                lenient(&first.text())?,
                base_of(&document, url),
                Some(title).filter(|t| !t.is_empty()),
            )
        }
        None => (lenient(text)?, url.clone(), None),
    };
    let found = json.items.values(&value);
    if found.is_empty() {
        return Err(ScrapeError::NoItems {
            what: "items path",
            selector: json.items.as_str().to_string(),
        });
    }
    let text = |path: &Option<JsonPath>, item: &Value| path.as_ref().and_then(|p| p.text(item));
    let items = found
        .into_iter()
        .map(|item| Item {
            title: json.title.text(item),
            link: json.link.text(item),
            date: text(&json.date, item),
            summary: text(&json.summary, item),
            content: text(&json.content, item),
            author: text(&json.author, item),
            image: text(&json.image, item),
            categories: json
                .categories
                .as_ref()
                .map(|path| path.texts(item))
                .unwrap_or_default(),
            id: text(&json.id, item),
        })
        .collect();
    let fields = json.fields();
    Ok(Listing {
        items,
        base,
        title,
        fields,
    })
}

/// JSON as sites serve it: a document, or one inside other text (a script's
/// `window.__STATE__ = {…};`, a JSONP call): the first whole value read from
/// the first `{` or `[`.
fn lenient(text: &str) -> Result<Value, ScrapeError> {
    let text = text.trim().trim_start_matches('\u{FEFF}');
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(error) => {
            let start = text
                .find(['{', '['])
                .ok_or_else(|| ScrapeError::NotJson(error.to_string()))?;
            serde_json::Deserializer::from_str(&text[start..])
                .into_iter::<Value>()
                .next()
                .and_then(Result::ok)
                .ok_or_else(|| ScrapeError::NotJson(error.to_string()))
        }
    }
}
