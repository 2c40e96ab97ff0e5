//! Stories: the articles that are one piece of news under different URLs.
//!
//! Identity (`dedup`) decides when two entries are the same article; a story
//! groups articles that other outlets reprinted under their own URLs, with
//! their own prefix, footer and small edits. Each new article is fingerprinted
//! ([`fingerprint`], from the text as [`text`] reads it), the articles of other
//! sources stored in the last days that share a band of its signature are
//! its candidates ([`window`]), and the exact check ([`matching`]) decides
//! ([`assign()`]: the one loop every writer of stories runs), keeping its
//! evidence so that every merge can be explained and undone.

pub mod assign;
pub mod fingerprint;
pub mod matching;
pub mod reshaped;
pub mod text;
pub mod window;

pub use assign::{Joined, Newcomer, Story, Texts, assign};
pub use fingerprint::Fingerprint;
pub use matching::Match;
pub use text::Comparable;

/// The text of an article as stories compare it: its body (its title and
/// body when the body alone is too short to tell), the numbers both state,
/// and its title.
pub fn comparable_article(title: &str, text: &str) -> Comparable {
    let heading = text::comparable(text::without_flourish(title));
    let mut article = text::comparable(text);
    if article.chars.len() < matching::MIN_CHARS {
        article = text::comparable(&format!("{title}。{text}"));
    }
    article.numbers.extend(heading.numbers);
    article.numbers.sort();
    article.numbers.dedup();
    article.figures.extend(heading.figures);
    article.figures.sort();
    article.figures.dedup();
    article.title = heading.chars;
    article
}

/// The fingerprint of an article's body alone, when the body says enough
/// to tell one story from another: the part of an article's fingerprint that
/// every feed carrying the same content shares (see [`article_fingerprint`]).
pub fn body_fingerprint(text: &str) -> Option<Fingerprint> {
    let body = text::comparable(text);
    (body.chars.len() >= matching::MIN_CHARS).then(|| Fingerprint::of(&body))
}

/// The fingerprint of the article [`comparable_article`] reads, made from
/// its body's (`body`, from [`body_fingerprint`] of `text`) and its title's
/// numbers; `None` when title and body together are too short.
pub fn article_fingerprint(
    body: Option<&Fingerprint>,
    title: &str,
    text: &str,
) -> Option<Fingerprint> {
    match body {
        Some(body) => {
            let mut fingerprint = body.clone();
            let heading = text::comparable(text::without_flourish(title));
            fingerprint.add_stated(&heading.numbers, &heading.figures);
            Some(fingerprint)
        }
        None => {
            let article = comparable_article(title, text);
            (article.chars.len() >= matching::MIN_CHARS).then(|| Fingerprint::of(&article))
        }
    }
}

/// Candidates one new article is checked against at most, the likeliest
/// first: a template that many articles share must not make one ingest cost
/// hundreds of exact checks.
pub const CHECKS: usize = 8;
