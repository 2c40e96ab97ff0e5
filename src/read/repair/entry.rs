//! What the writer learns of each entry as it goes (its title, link, id,
//! dates), to supply at the entry's end what other elements give where the
//! format's own is missing, and to tell a cut entry that lost its identity.
use std::fmt::Write as _;

use super::facts::Field;
use super::names::{ATOM, DC, Flavour, RSS_10, Vocabulary, is_http, local_name};
use super::writer::Writer;
use super::xml::escape_attribute;

impl Writer {
    pub(super) fn is_entry_name(&self, name: &str) -> bool {
        matches!(
            (self.flavour, local_name(name)),
            (Some(Flavour::Atom), "entry") | (Some(Flavour::Rss1 | Flavour::Rss2), "item")
        )
    }

    pub(super) fn is_entry_child(&self) -> bool {
        self.entry
            .as_ref()
            .is_some_and(|entry| self.stack.len() == entry.depth + 1)
    }

    pub(super) fn field_of(
        &self,
        vocabulary: Vocabulary,
        atom03: bool,
        local: &str,
        attributes: &[(String, String)],
    ) -> Option<Field> {
        if !self.is_entry_child() {
            return None;
        }
        Some(match (vocabulary, local) {
            (Vocabulary::Rss | Vocabulary::Atom, "title") => Field::Title,
            (Vocabulary::DublinCore, "title") => Field::DcTitle,
            (Vocabulary::Rss, "link") => Field::Link,
            (Vocabulary::Rss, "guid") => Field::Guid {
                permalink: !attributes.iter().any(|(n, v)| {
                    n.eq_ignore_ascii_case("isPermaLink") && v.trim().eq_ignore_ascii_case("false")
                }),
            },
            (Vocabulary::Atom, "id") => Field::AtomId,
            (Vocabulary::Rss, "pubDate") | (Vocabulary::DublinCore, "date") => Field::Date,
            (Vocabulary::Atom, "published") => Field::Date,
            (Vocabulary::Atom | Vocabulary::Rss, "updated") => Field::Updated,
            (Vocabulary::DcTerms, "issued" | "date" | "available") => Field::Issued,
            (Vocabulary::DcTerms, "created") => Field::Created,
            (Vocabulary::Atom, "created") if atom03 => Field::Created,
            (Vocabulary::DcTerms, "modified") => Field::Modified,
            _ => return None,
        })
    }

    pub(super) fn end_entry(&mut self) {
        if let Some(entry) = self.entry.take() {
            self.entries.push(entry.start..self.out.len());
        }
    }

    pub(super) fn record(&mut self, field: Field, text: String) {
        let Some(entry) = &mut self.entry else {
            return;
        };
        let text = text.trim().to_string();
        let present = !text.is_empty();
        match field {
            Field::Title => entry.title |= present,
            Field::DcTitle if present => entry.dc_title = Some(text),
            Field::Link => {
                entry.link |= present;
                entry.identified |= present;
            }
            Field::Guid { permalink } => {
                entry.identified |= present;
                if permalink && is_http(&text) {
                    entry.link_candidate = Some(text);
                }
            }
            Field::AtomId => {
                entry.identified |= present;
                if is_http(&text) {
                    entry.link_candidate = Some(text);
                }
            }
            Field::Date => entry.date |= present,
            Field::Updated => entry.updated |= present,
            Field::Issued if present => entry.issued = Some(text),
            Field::Created if present => entry.created = Some(text),
            Field::Modified if present => entry.modified = Some(text),
            _ => {}
        }
    }

    /// Before an entry's end tag: the title, link and dates it lacks, from
    /// the elements that say the same in other vocabularies.
    pub(super) fn supply_missing(&mut self) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        let flavour = self.flavour.unwrap_or(Flavour::Rss2);
        if !entry.title
            && let Some(title) = &entry.dc_title
        {
            self.element(flavour, "title", title);
        }
        if !entry.link {
            match (&entry.link_candidate, flavour) {
                (Some(link), Flavour::Atom) => {
                    let _ = write!(
                        self.out,
                        "<link xmlns=\"{ATOM}\" rel=\"alternate\" href=\"{}\"/>",
                        escape_attribute(link)
                    );
                }
                (Some(link), _) => self.element(flavour, "link", link),
                // feed-rs drops RSS 1.0 items without a link; a link that
                // is not http(s) keeps the item and is never used as one.
                (None, Flavour::Rss1) => self.element(flavour, "link", "about:blank"),
                (None, _) => {}
            }
        }
        let published = entry.issued.as_ref().or(entry.created.as_ref());
        if !entry.date {
            match (published, flavour) {
                (Some(date), Flavour::Atom) => self.element(flavour, "published", date),
                (Some(date), Flavour::Rss2) => self.element(flavour, "pubDate", date),
                (Some(date), Flavour::Rss1) => {
                    let _ = write!(
                        self.out,
                        "<dc:date xmlns:dc=\"{DC}\">{}</dc:date>",
                        escape_attribute(date)
                    );
                }
                (None, _) => {}
            }
        }
        if !entry.updated
            && let Some(modified) = &entry.modified
            && flavour != Flavour::Rss1
        {
            self.element(flavour, "updated", modified);
        }
        self.entry = Some(entry);
    }

    /// An element of the feed's own vocabulary, with text content.
    pub(super) fn element(&mut self, flavour: Flavour, local: &str, text: &str) {
        let namespace = match flavour {
            Flavour::Rss2 => String::new(),
            Flavour::Rss1 => format!(" xmlns=\"{RSS_10}\""),
            Flavour::Atom => format!(" xmlns=\"{ATOM}\""),
        };
        let _ = write!(
            self.out,
            "<{local}{namespace}>{}</{local}>",
            escape_attribute(text)
        );
    }
}
