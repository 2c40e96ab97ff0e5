//! What a source's last reading was, entry by entry, so that an entry it
//! delivers again unchanged is not read again.
//!
//! Sanitizing and fingerprinting are most of what reading an entry costs,
//! and a feed that changed mostly sends again what it sent before (in the
//! benchmark's update round, 2,625 of the changed feeds' 3,000 entries). The
//! store keeps, for each source, a digest of every entry of its last reading
//! with the article it became ([`EntryMemory`]); the next reading still works
//! out such an entry's identity (so that the feed's entries are told apart
//! as before), but takes its content as read and hands the store the article
//! it is ([`Recalled`]), which the store counts as seen again.
//!
//! The digest covers everything a reading takes from an entry: the parsed
//! entry whole, the feed's link (relative links resolve against it) and this
//! build's version (a new version may read the same entry differently). The
//! source's settings are not in it: the store forgets a source's memory when
//! they change, as it forgets its last body's hash.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use feed_rs::model::{Category, Content, Entry, Link, Person, Text};
use url::Url;
use xxhash_rust::xxh3::Xxh3;

/// The digest of an entry as a reading sees it (see the module's doc).
pub fn digest(entry: &Entry, feed_link: Option<&Url>) -> u64 {
    // Every field, named: a field feed-rs adds fails to build here.
    let Entry {
        id,
        title,
        updated,
        authors,
        content,
        links,
        summary,
        categories,
        contributors,
        published,
        source,
        rights,
        media,
        language,
        base,
    } = entry;
    let mut digest = Digester(Xxh3::new());
    digest.text(env!("CARGO_PKG_VERSION"));
    digest.optional(feed_link.map(Url::as_str));
    digest.text(id);
    for text in [title, summary, rights] {
        digest.text_of(text.as_ref());
    }
    match content {
        Some(Content {
            body,
            content_type,
            length,
            src,
        }) => {
            digest.present();
            digest.optional(body.as_deref());
            digest.text(content_type.as_str());
            digest.number(length.map(|n| n as i64));
            digest.list(src.as_slice(), Digester::link);
        }
        None => digest.absent(),
    }
    for date in [updated, published] {
        digest.number(date.map(|date| date.timestamp_micros()));
    }
    digest.list(authors, Digester::person);
    digest.list(contributors, Digester::person);
    digest.list(links, Digester::link);
    digest.list(categories, Digester::category);
    for part in [source, language, base] {
        digest.optional(part.as_deref());
    }
    // Rare in the feeds tidings reads, and many-layered: its `Debug` form
    // (which escapes each character, too slow for the texts above).
    digest.list(media, |digest, media| digest.debug(media));
    digest.0.digest()
}

/// Writes the parts of an entry into the hash, each told from the next by
/// its length or a marker, so that no two entries write alike.
struct Digester(Xxh3);

impl Digester {
    fn text(&mut self, text: &str) {
        self.0.update(&(text.len() as u64).to_le_bytes());
        self.0.update(text.as_bytes());
    }

    fn absent(&mut self) {
        self.0.update(&[0]);
    }

    fn present(&mut self) {
        self.0.update(&[1]);
    }

    fn optional(&mut self, text: Option<&str>) {
        match text {
            Some(text) => {
                self.present();
                self.text(text);
            }
            None => self.absent(),
        }
    }

    fn number(&mut self, number: Option<i64>) {
        match number {
            Some(number) => {
                self.present();
                self.0.update(&number.to_le_bytes());
            }
            None => self.absent(),
        }
    }

    fn list<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Digester, &T)) {
        self.0.update(&(items.len() as u64).to_le_bytes());
        for item in items {
            each(self, item);
        }
    }

    fn debug(&mut self, value: &impl std::fmt::Debug) {
        write!(self, "{value:?}").expect("hashing cannot fail");
    }

    fn text_of(&mut self, text: Option<&Text>) {
        match text {
            Some(Text {
                content_type,
                src,
                content,
            }) => {
                self.present();
                self.text(content_type.as_str());
                self.optional(src.as_deref());
                self.text(content);
            }
            None => self.absent(),
        }
    }

    fn person(&mut self, person: &Person) {
        let Person {
            name,
            uri,
            email,
            role,
        } = person;
        for part in [name, uri, email, role] {
            self.optional(part.as_deref());
        }
    }

    fn link(&mut self, link: &Link) {
        let Link {
            href,
            target,
            rel,
            media_type,
            href_lang,
            title,
            length,
        } = link;
        self.text(href);
        self.debug(target);
        for part in [rel, media_type, href_lang, title] {
            self.optional(part.as_deref());
        }
        self.number(length.map(|n| n as i64));
    }

    fn category(&mut self, category: &Category) {
        let Category {
            term,
            scheme,
            label,
            subcategories,
        } = category;
        self.text(term);
        self.optional(scheme.as_deref());
        self.optional(label.as_deref());
        self.list(subcategories, Digester::category);
    }
}

impl Write for Digester {
    fn write_str(&mut self, part: &str) -> std::fmt::Result {
        self.0.update(part.as_bytes());
        Ok(())
    }
}

/// An entry of the source's last reading delivered again unchanged: not
/// read, only its article's id and what the poll's schedule needs of it.
#[derive(Debug, Clone)]
pub struct Recalled {
    pub digest: u64,
    /// The article it became (see [`EntryMemory::article_of`]).
    pub article_id: i64,
    /// Its date as read last time: an `auto` interval counts it.
    pub published: Option<DateTime<Utc>>,
}

/// The digests of the entries of a source's last reading, each with the
/// article it became. Stored as bytes on the source
/// (`sources.entry_memory`): sixteen bytes an entry, the digest and the id,
/// little endian.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntryMemory {
    /// `(digest, article id)`, in digest order.
    entries: Vec<(u64, i64)>,
}

impl EntryMemory {
    /// The memory of `(digest, article id)` pairs, in any order.
    pub fn new(mut entries: Vec<(u64, i64)>) -> EntryMemory {
        entries.sort_unstable();
        entries.dedup_by_key(|(digest, _)| *digest);
        EntryMemory { entries }
    }

    /// The memory as stored; bytes that are not whole pairs (a damaged
    /// column) are nothing remembered, and the entries are read again.
    pub fn from_bytes(bytes: &[u8]) -> EntryMemory {
        if !bytes.len().is_multiple_of(16) {
            return EntryMemory::default();
        }
        let number = |part: &[u8]| u64::from_le_bytes(part.try_into().expect("eight bytes"));
        EntryMemory::new(
            bytes
                .chunks_exact(16)
                .map(|pair| (number(&pair[..8]), number(&pair[8..]) as i64))
                .collect(),
        )
    }

    /// The memory as stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.entries
            .iter()
            .flat_map(|(digest, id)| digest.to_le_bytes().into_iter().chain(id.to_le_bytes()))
            .collect()
    }

    /// The article an entry with `digest` became at the last reading.
    pub fn article_of(&self, digest: u64) -> Option<i64> {
        self.entries
            .binary_search_by_key(&digest, |(digest, _)| *digest)
            .ok()
            .map(|at| self.entries[at].1)
    }

    /// Whether nothing is remembered: every entry is read (and the store
    /// keeps `NULL`, for nothing to ask for).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(title: &str, body: &str) -> Entry {
        let xml = format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><title>{title}</title>\
             <link>https://www.stcn.com/article/detail/1.html</link>\
             <description>{body}</description></item></channel></rss>"
        );
        feed_rs::parser::parse(xml.as_bytes())
            .unwrap()
            .entries
            .remove(0)
    }

    #[test]
    fn a_digest_changes_with_any_part_of_the_entry_and_with_the_feeds_link() {
        let base = digest(&entry("央行降准", "正文"), None);
        assert_eq!(base, digest(&entry("央行降准", "正文"), None));
        assert_ne!(base, digest(&entry("央行降准0.5个百分点", "正文"), None));
        assert_ne!(base, digest(&entry("央行降准", "正文。"), None));
        assert_ne!(base, digest(&entry("央行降准正文", ""), None));
        let site = Url::parse("https://www.stcn.com/").unwrap();
        assert_ne!(base, digest(&entry("央行降准", "正文"), Some(&site)));
    }

    #[test]
    fn the_memory_reads_back_as_written_and_finds_each_entrys_article() {
        let memory = EntryMemory::new(vec![(9, 3), (u64::MAX, -1), (2, 7), (9, 3)]);
        let stored = memory.to_bytes();
        assert_eq!(stored.len(), 48);
        let read = EntryMemory::from_bytes(&stored);
        assert_eq!(read, memory);
        assert_eq!(read.article_of(2), Some(7));
        assert_eq!(read.article_of(u64::MAX), Some(-1));
        assert_eq!(read.article_of(5), None);
        assert!(EntryMemory::from_bytes(&stored[..47]).is_empty());
    }
}
