//! A list page read with CSS selectors: one element per item, a selector per
//! field inside it.

use dom_query::{Document, Selection};
use url::Url;

use super::{Field, Item, ListSelectors, Listing, ScrapeError, base_of};

/// The items of `html`, the page at `url`.
pub(super) fn read(html: &str, url: &Url, list: &ListSelectors) -> Result<Listing, ScrapeError> {
    let document = Document::from(html);
    let found = list.items.select(&document);
    if found.is_empty() {
        return Err(ScrapeError::NoItems {
            what: "list selector",
            selector: list.items.as_str().to_string(),
        });
    }
    let text = |field: &Option<Field>, item: &Selection| {
        field.as_ref().and_then(|field| field.value(item))
    };
    let html =
        |field: &Option<Field>, item: &Selection| field.as_ref().and_then(|field| field.html(item));
    let items = found
        .nodes()
        .iter()
        .map(|node| {
            let item = Selection::from(*node);
            Item {
                title: list
                    .title
                    .value(&item)
                    .map(|title| html_escape::encode_text(&title).into_owned()),
                link: list.link.value(&item),
                date: text(&list.date, &item),
                summary: html(&list.summary, &item),
                content: html(&list.content, &item),
                author: text(&list.author, &item),
                image: text(&list.image, &item),
                categories: list
                    .categories
                    .as_ref()
                    .map(|field| field.values(&item))
                    .unwrap_or_default(),
                id: text(&list.id, &item),
            }
        })
        .collect();
    let fields = list.fields();
    let title = document.select("title").text();
    Ok(Listing {
        items,
        base: base_of(&document, url),
        title: Some(crate::text::collapse_whitespace(&title)).filter(|t| !t.is_empty()),
        fields,
    })
}
