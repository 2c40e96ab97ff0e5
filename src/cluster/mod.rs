//! Stories: the articles that are one piece of news under different URLs.
//!
//! Identity (`dedup`) decides when two entries are the same article; a story
//! groups articles that other outlets reprinted under their own URLs, with
//! their own prefix, footer and small edits. Each new article is fingerprinted
//! ([`fingerprint`], from the text as [`text`] reads it), the articles of other
//! sources stored in the last days that share a band of its signature are
//! its candidates ([`window`]), and the exact check ([`matching`]) decides,
//! keeping its evidence so that every merge can be explained and undone.

pub mod fingerprint;
pub mod matching;
pub mod text;
pub mod window;

pub use fingerprint::Fingerprint;
pub use matching::Match;
pub use text::Comparable;

/// The text of an article as stories compare it: its body, or its title and
/// body when the body alone is too short to tell.
pub fn comparable_article(title: &str, text: &str) -> Comparable {
    let body = text::comparable(text);
    if body.chars.len() >= matching::MIN_CHARS {
        return body;
    }
    text::comparable(&format!("{title}。{text}"))
}
