//! What happens to every entry of a group of polls, decided in memory
//! before anything is written, the same for every database.
//!
//! The rules are DESIGN.md's:
//! - a new key is a new article;
//! - a known key from a feed that did not carry it before adds that feed and its
//!   categories to the article;
//! - a known key whose feed now delivers a different version updates the article
//!   in place (the feed's own last version decides, so two feeds with slightly
//!   different copies of one story do not overwrite each other on every poll);
//! - an unchanged entry only moves `last_seen`, and only when it is more than
//!   [`LAST_SEEN_STEP`] old; so does an entry recalled from the source's last
//!   reading (see `article::recall`), whose article still exists.
//!
//! Each poll's reading is remembered on its source: every entry's digest
//! with the article it is now.

use chrono::{DateTime, Utc};
use hashbrown::HashMap;
use hashbrown::hash_map::EntryRef;

use super::Counts;
use crate::article::Article;
use crate::article::recall::{EntryMemory, Recalled};
use crate::cluster::Newcomer;
use crate::config::FullContent;
use crate::read::dates::{from_db, to_db};

/// One poll's share of a group: who delivered the articles, and when.
pub(in crate::store) struct PollArticles<'a> {
    pub source_id: i64,
    /// The poll's start, as stored: when its articles were seen.
    pub now: String,
    /// `now` less [`LAST_SEEN_STEP`], as stored.
    pub recently: String,
    pub articles: &'a [Article],
    /// Entries delivered as at the source's last reading, not read again.
    pub recalled: &'a [Recalled],
    /// Which of the poll's new articles wait for their page.
    pub full_content: FullContent,
    /// Whether the poll's new articles join stories.
    pub cluster: bool,
}

/// How stale `last_seen` may be before a sighting moves it. A story that many
/// feeds carry is seen again by each of them within seconds, and rewriting
/// its row, content and all, for each of them is write work for nothing.
pub(in crate::store) const LAST_SEEN_STEP: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// What the database (or an earlier poll of the group) knows of a key.
pub(in crate::store) struct Known {
    pub id: i64,
    pub published: String,
    pub last_seen: String,
    /// The article's category labels, and the last position in use. (A
    /// few of each, so lists: a set or a map costs several times the memory
    /// in SQLite's `sqlite::ingest::Recent`, for no time.)
    pub labels: Vec<String>,
    pub last_position: i64,
    /// The hash each source that carries the article last delivered.
    pub delivered: Vec<(i64, String)>,
}

impl Known {
    /// What `source` last delivered of the article.
    pub(in crate::store) fn delivered_by(&self, source: i64) -> Option<&str> {
        self.delivered
            .iter()
            .find(|(id, _)| *id == source)
            .map(|(_, hash)| hash.as_str())
    }

    /// Records that `source` now delivers `hash`.
    pub(in crate::store) fn deliver(&mut self, source: i64, hash: String) {
        match self.delivered.iter_mut().find(|(id, _)| *id == source) {
            Some(slot) => slot.1 = hash,
            None => self.delivered.push((source, hash)),
        }
    }
}

/// One entry as one source delivered it in one poll.
#[derive(Clone, Copy)]
pub(in crate::store) struct Delivery<'a> {
    /// The article's id, new or known.
    pub id: i64,
    pub source_id: i64,
    pub article: &'a Article,
    /// When the poll saw it.
    pub seen_at: &'a str,
    /// Whether its source's new articles join stories.
    pub cluster: bool,
}

impl Delivery<'_> {
    /// The date a new article is stored with: its own, else when it was first seen.
    pub fn published(&self) -> String {
        self.article
            .published
            .map(to_db)
            .unwrap_or_else(|| self.seen_at.to_string())
    }

    /// When the poll saw it, as a time (the epoch should `seen_at` not be
    /// one of `to_db`'s, which it always is).
    pub fn seen_time(&self) -> DateTime<Utc> {
        from_db(self.seen_at).unwrap_or_default()
    }

    /// [`Delivery::published`] as a time.
    pub fn published_time(&self) -> DateTime<Utc> {
        self.article.published.unwrap_or_else(|| self.seen_time())
    }
}

impl<'a> Delivery<'a> {
    /// The new article as stories see it (see `cluster::assign`): out of
    /// them when its source keeps apart or its text says too little.
    pub(in crate::store) fn newcomer(&self) -> Newcomer<'a> {
        Newcomer {
            id: self.id,
            source_id: self.source_id,
            title: &self.article.title,
            text: &self.article.content.text,
            fingerprint: self.article.fingerprint.as_ref().filter(|_| self.cluster),
            published: self.published_time().timestamp(),
            stored: self.seen_time().timestamp(),
            comparable: None,
        }
    }
}

/// A row of `article_categories`.
pub(in crate::store) struct CategoryRow<'a> {
    pub id: i64,
    pub label: &'a str,
    pub position: i64,
    pub published: String,
}

/// A page to fetch for a new article: a row of `article_pages`.
pub(in crate::store) struct PageRow<'a> {
    pub id: i64,
    pub source_id: i64,
    pub url: &'a str,
    /// When it was queued: it is due at once.
    pub now: &'a str,
}

/// Every row the group writes.
#[derive(Default)]
pub(in crate::store) struct Plan<'a> {
    /// New articles, in id order.
    pub fresh: Vec<Delivery<'a>>,
    /// Articles whose source now delivers another version.
    pub changed: Vec<Delivery<'a>>,
    /// Deliveries from a source that did not carry the article yet: new or joined.
    pub links: Vec<Delivery<'a>>,
    pub categories: Vec<CategoryRow<'a>>,
    /// Articles seen again: `(id, seen_at)`.
    pub seen: Vec<(i64, &'a str)>,
    pub pages: Vec<PageRow<'a>>,
}

/// What became of one poll's entries.
pub(in crate::store) struct Planned {
    pub counts: Counts,
    /// The poll's reading as its source remembers it (see `article::recall`).
    pub memory: EntryMemory,
}

impl Planned {
    /// The memory as stored on the source: `NULL` for nothing remembered.
    pub fn memory_bytes(&self) -> Option<Vec<u8>> {
        (!self.memory.is_empty()).then(|| self.memory.to_bytes())
    }
}

/// When each recalled entry's article was last seen, by id; an article the
/// database no longer has is missing (see [`plan`]).
pub(in crate::store) type LastSeen = HashMap<i64, String>;

/// The articles the group's recalled entries became, for the engine to look up.
pub(in crate::store) fn recalled_ids(polls: &[PollArticles<'_>]) -> Vec<i64> {
    let mut ids: Vec<i64> = (polls.iter())
        .flat_map(|poll| poll.recalled.iter().map(|r| r.article_id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Entries the database has under an earlier key of theirs (see
/// [`Article::earlier_keys`]), by source and key: the key each is stored under.
pub(in crate::store) type StoredAs = HashMap<(i64, String), String>;

/// One earlier key to look for: an article stored under `earlier` is this
/// entry when this source stored it with the entry's guid (or, with no guid
/// on either side, the same title).
pub(in crate::store) struct EarlierKey<'a> {
    pub earlier: &'a str,
    pub key: &'a str,
    pub source_id: i64,
    pub guid: Option<&'a str>,
    pub title: &'a str,
}

/// The earlier keys of the group's entries, for the engine to look up.
pub(in crate::store) fn earlier_keys<'a>(polls: &'a [PollArticles<'a>]) -> Vec<EarlierKey<'a>> {
    polls
        .iter()
        .flat_map(|poll| {
            poll.articles.iter().flat_map(move |article| {
                article.earlier_keys.iter().map(move |earlier| EarlierKey {
                    earlier,
                    key: &article.key,
                    source_id: poll.source_id,
                    guid: article.guid.as_deref(),
                    title: &article.title,
                })
            })
        })
        .collect()
}

/// The key `source`'s entry is stored under: an earlier one the database
/// has it under ([`StoredAs`]), else its own.
pub(in crate::store) fn stored_key<'a>(
    article: &'a Article,
    source: i64,
    stored_as: &'a StoredAs,
) -> &'a str {
    if article.earlier_keys.is_empty() {
        return &article.key;
    }
    stored_as
        .get(&(source, article.key.clone()))
        .unwrap_or(&article.key)
}

/// Decides what happens to each entry, poll by poll in queue order, so a story
/// that two polls of the group carry is new in the first and joined in the second.
/// `known` must hold every key of the group the database has (each entry's
/// [`stored_key`]), `last_seen` every recalled article it has; new articles
/// take their ids from `new_ids`, in order (one for each key `known` lacks).
///
/// A recalled entry whose article is gone (deleted since the reading asked
/// for the source's memory, which a deletion clears) is left out, and out of
/// the source's memory: the next reading reads it whole, and stores it again.
pub(in crate::store) fn plan<'a>(
    polls: &'a [PollArticles<'a>],
    known: &mut HashMap<String, Known>,
    stored_as: &StoredAs,
    last_seen: &mut LastSeen,
    mut new_ids: impl Iterator<Item = i64>,
) -> (Plan<'a>, Vec<Planned>) {
    let mut plan = Plan::default();
    let mut planned = Vec::with_capacity(polls.len());
    for poll in polls {
        let mut count = Counts::default();
        let mut memory = Vec::with_capacity(poll.articles.len() + poll.recalled.len());
        for recalled in poll.recalled {
            let Some(seen) = last_seen.get_mut(&recalled.article_id) else {
                continue;
            };
            count.unchanged += 1;
            memory.push((recalled.digest, recalled.article_id));
            if *seen < poll.recently {
                seen.clone_from(&poll.now);
                plan.seen.push((recalled.article_id, poll.now.as_str()));
            }
        }
        for article in poll.articles {
            let delivery = Delivery {
                id: 0,
                source_id: poll.source_id,
                article,
                seen_at: poll.now.as_str(),
                cluster: poll.cluster,
            };
            let entry = match known.entry_ref(stored_key(article, poll.source_id, stored_as)) {
                EntryRef::Occupied(entry) => {
                    let entry = entry.into_mut();
                    memory.extend(article.digest.map(|digest| (digest, entry.id)));
                    match plan.known_entry(poll, delivery, entry, &mut count) {
                        Some(entry) => entry,
                        None => continue,
                    }
                }
                EntryRef::Vacant(slot) => {
                    count.new += 1;
                    let id = new_ids.next().expect("an id for each new key");
                    memory.extend(article.digest.map(|digest| (digest, id)));
                    slot.insert(plan.new_entry(poll, Delivery { id, ..delivery }))
                }
            };
            entry.deliver(poll.source_id, article.content_hash.clone());
            plan.add_labels(entry, &article.categories);
        }
        planned.push(Planned {
            counts: count,
            memory: EntryMemory::new(memory),
        });
    }
    // Rows in the order of their keys: each page they go to is then visited
    // once a group rather than once a row, which counts once the tables
    // outgrow the page cache (at 5,000 feeds, articles that many feeds
    // carry are linked all over them).
    plan.links
        .sort_unstable_by_key(|link| (link.id, link.source_id));
    plan.categories
        .sort_unstable_by(|a, b| (a.id, a.label).cmp(&(b.id, b.label)));
    plan.seen.sort_unstable();
    (plan, planned)
}

impl<'a> Plan<'a> {
    /// Whether the plan leaves every row as it is.
    pub fn writes_nothing(&self) -> bool {
        let Plan {
            fresh,
            changed,
            links,
            categories,
            seen,
            pages,
        } = self;
        fresh.is_empty()
            && changed.is_empty()
            && links.is_empty()
            && categories.is_empty()
            && seen.is_empty()
            && pages.is_empty()
    }

    /// A delivery of an article the database (or the group) has: unchanged,
    /// updated, or a story this source had not carried; `None` when nothing
    /// more is to be done with it.
    fn known_entry<'k>(
        &mut self,
        poll: &'a PollArticles<'a>,
        mut delivery: Delivery<'a>,
        entry: &'k mut Known,
        count: &mut Counts,
    ) -> Option<&'k mut Known> {
        delivery.id = entry.id;
        match entry.delivered_by(poll.source_id) {
            Some(delivered) if delivered == delivery.article.content_hash => {
                count.unchanged += 1;
                self.seen_again(poll, entry);
                None
            }
            Some(_) => {
                count.updated += 1;
                self.changed.push(delivery);
                if let Some(published) = delivery.article.published {
                    entry.published = to_db(published);
                }
                Some(entry)
            }
            // Joined: a story this source had not carried before.
            None => {
                count.unchanged += 1;
                self.seen_again(poll, entry);
                self.links.push(delivery);
                Some(entry)
            }
        }
    }

    /// A new article: stored, linked to its source, its page queued when
    /// the source reads them; what the group knows of it from now on.
    fn new_entry(&mut self, poll: &'a PollArticles<'a>, delivery: Delivery<'a>) -> Known {
        let article = delivery.article;
        self.fresh.push(delivery);
        if let Some(url) = article.link.as_deref().filter(|url| {
            url.starts_with("http") && poll.full_content.wants_page(&article.content.text)
        }) {
            self.pages.push(PageRow {
                id: delivery.id,
                source_id: poll.source_id,
                url,
                now: delivery.seen_at,
            });
        }
        self.links.push(delivery);
        Known {
            id: delivery.id,
            published: delivery.published(),
            last_seen: delivery.seen_at.to_string(),
            labels: Vec::new(),
            last_position: -1,
            delivered: Vec::new(),
        }
    }

    /// Moves `last_seen` when it is more than [`LAST_SEEN_STEP`] old.
    fn seen_again(&mut self, poll: &'a PollArticles<'a>, entry: &mut Known) {
        if entry.last_seen < poll.recently {
            entry.last_seen = poll.now.clone();
            self.seen.push((entry.id, poll.now.as_str()));
        }
    }

    /// The labels of `categories` the article lacks. Another feed of the
    /// story mostly brings labels it already has.
    fn add_labels(&mut self, entry: &mut Known, categories: &'a [String]) {
        for label in categories {
            if entry.labels.contains(label) {
                continue;
            }
            entry.labels.push(label.clone());
            entry.last_position += 1;
            self.categories.push(CategoryRow {
                id: entry.id,
                label,
                position: entry.last_position,
                published: entry.published.clone(),
            });
        }
    }
}

/// Whether a new article may join a story: its source lets it, and its text
/// says enough.
pub(in crate::store) fn may_join(new: &Delivery<'_>) -> bool {
    new.cluster && new.article.fingerprint.is_some()
}
