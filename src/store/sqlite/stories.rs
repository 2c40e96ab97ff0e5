//! Stories as SQLite's writer decides them: which story each new article of
//! a group joins, against the window of recent articles it keeps in memory
//! (see `cluster`), with the evidence of each join. What people do with
//! stories is `store::stories`, shared with PostgreSQL.

use std::future::Future;
use std::sync::Arc;

use hashbrown::HashMap;
use hashbrown::hash_map::Entry;
use rusqlite::{Connection, OptionalExtension, params};

use crate::article::Article;
use crate::cluster::window::{Keyed, Member, WINDOW, Window};
use crate::cluster::{self, Comparable, Fingerprint, Story, Texts};
use crate::store::plan::{Delivery, may_join};

/// Adds to `window` the articles stored after article `after` (all of the
/// window's span when it is new) that have a fingerprint: what this writer
/// did not add itself, such as another process's articles. Articles stored
/// before the window's span (`now` less [`WINDOW`], unix seconds) are left out.
pub(super) fn top_up_window(
    db: &Connection,
    window: &mut Window,
    after: i64,
    now: i64,
) -> rusqlite::Result<()> {
    let since = now - WINDOW.num_seconds();
    // Newest first, by id (the order articles are stored in), until one
    // stored before the span. Nothing here reads the articles' own rows:
    // their content would be read with them.
    let mut fingerprints = db.prepare_cached(
        "SELECT article_id, published, stored, fingerprint FROM article_fingerprints
          WHERE article_id > ?1 ORDER BY article_id DESC",
    )?;
    let mut rows = fingerprints.query([after])?;
    let (mut read, mut oldest) = (Vec::new(), None);
    while let Some(row) = rows.next()? {
        let Some(stored) = row.get::<_, Option<i64>>(2)? else {
            continue;
        };
        if stored < since {
            break;
        }
        let fingerprint = row
            .get_ref(3)?
            .as_blob_or_null()?
            .and_then(Fingerprint::from_bytes);
        if let Some(mut fingerprint) = fingerprint {
            let id = row.get(0)?;
            let member = Member {
                id,
                // Read below, for all of the members at once.
                source_id: 0,
                // Read when it is matched (`story_of`): `tidings split` or
                // `merge` may move it while it is in the window.
                story_id: id,
                published: row.get::<_, Option<i64>>(1)?.unwrap_or(0),
                stored,
                numbers: std::mem::take(&mut fingerprint.numbers).into(),
            };
            // Its keys, not its fingerprint, which is several times larger.
            read.push(Keyed::new(member, &fingerprint));
            oldest = Some(id);
        }
    }
    let Some(oldest) = oldest else {
        return Ok(());
    };
    // Each article's origin by one scan of the span, where a look-up for
    // every article was half the time of reading the window at start-up
    // (15,000 articles at 1,000 feeds).
    let origins = origins_since(db, oldest)?;
    // Oldest first, as the window keeps them.
    for mut keyed in read.into_iter().rev() {
        let member = keyed.member_mut();
        let Some(&source_id) = origins.get(&member.id) else {
            continue;
        };
        member.source_id = source_id;
        window.enter(keyed);
    }
    Ok(())
}

/// The source that first carried each article from `oldest` on: the one
/// `article_origins` names, read from `article_sources` alone (the view
/// joins each row to its source as well).
fn origins_since(db: &Connection, oldest: i64) -> rusqlite::Result<HashMap<i64, i64>> {
    let mut query = db.prepare_cached(
        "SELECT article_id, source_id, first_seen FROM article_sources WHERE article_id >= ?1",
    )?;
    let mut rows = query.query([oldest])?;
    let mut first: HashMap<i64, (String, i64)> = HashMap::new();
    while let Some(row) = rows.next()? {
        let source: i64 = row.get(1)?;
        // Dates as stored compare as text.
        let seen = row.get_ref(2)?.as_str()?;
        match first.entry(row.get(0)?) {
            Entry::Occupied(mut earliest) => {
                let (at, by) = earliest.get();
                if (seen, source) < (at.as_str(), *by) {
                    earliest.insert((seen.to_owned(), source));
                }
            }
            Entry::Vacant(slot) => {
                slot.insert((seen.to_owned(), source));
            }
        }
    }
    Ok(first
        .into_iter()
        .map(|(article, (_, source))| (article, source))
        .collect())
}

/// Decides the story of each new article of a group, in order (a reprint
/// may follow its original within one group), and adds each to the window.
pub(super) fn assign(
    db: &Connection,
    fresh: &[Delivery<'_>],
    window: &mut Window,
) -> rusqlite::Result<Vec<Story>> {
    let mut texts = GroupTexts {
        in_group: fresh.iter().map(|new| (new.id, new.article)).collect(),
        stored_text: db.prepare_cached("SELECT title, plain_text FROM articles WHERE id = ?1")?,
        current_story: db.prepare_cached(
            "SELECT coalesce((SELECT story_id FROM story_evidence WHERE article_id = ?1), ?1)",
        )?,
        read: HashMap::new(),
    };
    // The writer's thread has nothing to wait for: SQLite answers at once.
    fresh
        .iter()
        .map(|new| {
            futures::executor::block_on(cluster::assign(
                window,
                &mut texts,
                &new.newcomer(),
                |_| false,
            ))
        })
        .collect()
}

/// The texts of a group's candidates: the group's own new articles, else
/// the database's, each read once a group (a template many articles share
/// makes the same few candidates come up again and again).
struct GroupTexts<'a, 'c> {
    in_group: HashMap<i64, &'a Article>,
    stored_text: rusqlite::CachedStatement<'c>,
    current_story: rusqlite::CachedStatement<'c>,
    read: HashMap<i64, Option<Arc<Comparable>>>,
}

impl Texts for GroupTexts<'_, '_> {
    type Error = rusqlite::Error;

    fn read_ahead(
        &mut self,
        _members: &[Member],
    ) -> impl Future<Output = rusqlite::Result<()>> + Send {
        // Read as each is compared: on this connection a read costs no wait.
        std::future::ready(Ok(()))
    }

    fn text(&mut self, member: &Member) -> Option<Arc<Comparable>> {
        let (in_group, stored_text) = (&self.in_group, &mut self.stored_text);
        self.read
            .entry(member.id)
            .or_insert_with(|| {
                match in_group.get(&member.id) {
                    Some(article) => Some(cluster::comparable_article(
                        &article.title,
                        &article.content.text,
                    )),
                    None => stored_text
                        .query_row([member.id], |row| {
                            let (title, text): (String, String) = (row.get(0)?, row.get(1)?);
                            Ok(cluster::comparable_article(&title, &text))
                        })
                        .optional()
                        .unwrap_or_else(|error| {
                            tracing::warn!("cannot read article {} to compare: {error}", member.id);
                            None
                        }),
                }
                .map(Arc::new)
            })
            .clone()
    }

    fn story_of(&mut self, member: &Member) -> rusqlite::Result<i64> {
        // As the database has it now: `tidings split` or `merge` in another
        // process may have moved it since it entered the window.
        match self.in_group.contains_key(&member.id) {
            true => Ok(member.story_id),
            false => self.current_story.query_row([member.id], |row| row.get(0)),
        }
    }

    fn keep(&mut self, id: i64, text: Arc<Comparable>) {
        self.read.insert(id, Some(text));
    }
}

/// Records each new article's fingerprint (of sources that join stories:
/// no later article finds the others in the window), and why each new
/// article that joined a story joined it.
pub(super) fn record(
    db: &Connection,
    fresh: &[Delivery<'_>],
    stories: &[Story],
) -> rusqlite::Result<()> {
    let mut fingerprint = db.prepare_cached(
        "INSERT INTO article_fingerprints (article_id, fingerprint, published, stored)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for new in fresh.iter().filter(|new| may_join(new)) {
        if let Some(print) = &new.article.fingerprint {
            let times = new.newcomer();
            fingerprint.execute(params![
                new.id,
                print.to_bytes(),
                times.published,
                times.stored
            ])?;
        }
    }
    let mut insert = db.prepare_cached(
        "INSERT INTO story_evidence (article_id, story_id, matched_article_id, method, overlap,
                                     jaccard, numbers_agree, minutes_apart, event, decided_at)
         VALUES (?1, ?2, ?3, 'text', ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (new, story) in fresh.iter().zip(stories) {
        if let Some(joined) = &story.joined {
            insert.execute(params![
                new.id,
                story.id,
                joined.matched,
                joined.found.overlap,
                joined.found.jaccard,
                joined.found.numbers_agree,
                joined.minutes_apart,
                joined.found.event.as_ref().map(ToString::to_string),
                new.seen_at,
            ])?;
        }
    }
    Ok(())
}
