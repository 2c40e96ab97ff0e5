//! Stories on PostgreSQL: which story each new article of a poll joins,
//! decided as on SQLite (`cluster::assign` over a window of candidates),
//! but with the candidates read from the database (`article_bands`), since
//! other pollers store articles too: the newest few articles of each of the
//! new articles' band keys, stored within the last [`WINDOW`]. The band keys
//! are the window's index, with what ranking a candidate needs beside each
//! (migrations/postgres/0003); keys that left the window are deleted.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hashbrown::{HashMap, HashSet};
use sqlx::{Postgres, Row, Transaction};

use crate::article::Article;
use crate::cluster::window::{Member, WINDOW, Window};
use crate::cluster::{self, Comparable, Fingerprint, Joined, Story, Texts};
use crate::store::plan::{Delivery, may_join};

/// Articles read at most for each band key, the newest first: as the
/// in-memory window's `PER_BAND`, a key many articles share must not make
/// an ingest read them all.
const PER_BAND: i64 = 8;

/// The story of each new article of `fresh`, in order.
pub(super) async fn assign(
    tx: &mut Transaction<'_, Postgres>,
    fresh: &[Delivery<'_>],
) -> Result<Vec<Story>, sqlx::Error> {
    let mut window = Window::default();
    if fresh.iter().any(may_join) {
        fill_window(tx, fresh, &mut window).await?;
    }
    let mut texts = PollTexts {
        tx,
        in_group: fresh.iter().map(|new| (new.id, new.article)).collect(),
        texts: HashMap::new(),
        stories: HashMap::new(),
    };
    let mut stories = Vec::with_capacity(fresh.len());
    for new in fresh {
        stories.push(cluster::assign(&mut window, &mut texts, &new.newcomer(), |_| false).await?);
    }
    Ok(stories)
}

/// The texts of a poll's candidates: its own new articles, else the
/// database's, read a check's worth at once (with the stories they are in
/// now, which splits and merges move).
struct PollTexts<'t, 'c, 'a> {
    tx: &'t mut Transaction<'c, Postgres>,
    in_group: HashMap<i64, &'a Article>,
    texts: HashMap<i64, Arc<Comparable>>,
    stories: HashMap<i64, i64>,
}

impl Texts for PollTexts<'_, '_, '_> {
    type Error = sqlx::Error;

    async fn read_ahead(&mut self, members: &[Member]) -> Result<(), sqlx::Error> {
        let mut stored = Vec::new();
        for member in members {
            if self.texts.contains_key(&member.id) {
                continue;
            }
            match self.in_group.get(&member.id) {
                Some(article) => {
                    let text = cluster::comparable_article(&article.title, &article.content.text);
                    self.texts.insert(member.id, Arc::new(text));
                }
                None => stored.push(member.id),
            }
        }
        if stored.is_empty() {
            return Ok(());
        }
        let rows =
            sqlx::query("SELECT id, story_id, title, plain_text FROM articles WHERE id = ANY($1)")
                .bind(&stored)
                .fetch_all(&mut **self.tx)
                .await?;
        for row in rows {
            let text = cluster::comparable_article(row.get(2), row.get(3));
            self.texts.insert(row.get(0), Arc::new(text));
            self.stories.insert(row.get(0), row.get(1));
        }
        Ok(())
    }

    fn text(&mut self, member: &Member) -> Option<Arc<Comparable>> {
        self.texts.get(&member.id).cloned()
    }

    fn story_of(&mut self, member: &Member) -> Result<i64, sqlx::Error> {
        Ok(self
            .stories
            .get(&member.id)
            .copied()
            .unwrap_or(member.story_id))
    }

    fn keep(&mut self, id: i64, text: Arc<Comparable>) {
        self.texts.insert(id, text);
    }
}

/// Adds to `window`, oldest first, the stored articles that share a band
/// key with a new article of `fresh` and were stored within [`WINDOW`]:
/// the newest few of each key, from the index alone, with their
/// fingerprints. Their stories are read with their texts, for the few a
/// check compares (a story changes when articles are split and merged), and
/// an article deleted since is then not found and not compared.
async fn fill_window(
    tx: &mut Transaction<'_, Postgres>,
    fresh: &[Delivery<'_>],
    window: &mut Window,
) -> Result<(), sqlx::Error> {
    let keys: HashSet<i64> = fresh
        .iter()
        .filter(|new| may_join(new))
        .filter_map(|new| new.article.fingerprint.as_ref())
        .flat_map(|fingerprint| fingerprint.bands())
        .map(|key| key as i64)
        .collect();
    let keys: Vec<i64> = keys.into_iter().collect();
    let rows = sqlx::query(
        "SELECT m.article_id, m.source_id, m.published, m.stored, f.fingerprint
           FROM (SELECT DISTINCT ON (c.article_id) c.*
                   FROM unnest($1::bigint[]) AS k(key)
                  CROSS JOIN LATERAL (SELECT b.article_id, b.source_id, b.published, b.stored
                                        FROM article_bands b
                                       WHERE b.band_key = k.key
                                         AND b.stored >= now() - make_interval(secs => $3)
                                       ORDER BY b.article_id DESC LIMIT $2) c) m
           JOIN article_fingerprints f ON f.article_id = m.article_id
          ORDER BY m.article_id",
    )
    .bind(&keys)
    .bind(PER_BAND)
    .bind(WINDOW.num_seconds() as f64)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        let Some(fingerprint) = Fingerprint::from_bytes(row.get(4)) else {
            continue;
        };
        let id = row.get(0);
        let member = Member {
            id,
            source_id: row.get(1),
            // Until its text is read with its story.
            story_id: id,
            published: row.get::<DateTime<Utc>, _>(2).timestamp(),
            stored: row.get::<DateTime<Utc>, _>(3).timestamp(),
            numbers: fingerprint.numbers.clone().into(),
        };
        window.add(member, &fingerprint);
    }
    Ok(())
}

/// Deletes the band keys of the articles stored before the window: no new
/// article can be a reprint of them, and a key many articles shared would
/// otherwise be read past them on every look-up.
pub(super) async fn forget_left_window(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM article_bands WHERE stored < now() - make_interval(secs => $1)")
        .bind(WINDOW.num_seconds() as f64)
        .execute(pool)
        .await?;
    Ok(())
}

/// Records each new article's fingerprint and band keys (of sources that
/// join stories), and why each new article that joined a story joined it.
pub(super) async fn record(
    tx: &mut Transaction<'_, Postgres>,
    fresh: &[Delivery<'_>],
    stories: &[Story],
) -> Result<(), sqlx::Error> {
    let printed: Vec<(&Delivery<'_>, &Fingerprint)> = fresh
        .iter()
        .filter(|new| may_join(new))
        .filter_map(|new| Some((new, new.article.fingerprint.as_ref()?)))
        .collect();
    if !printed.is_empty() {
        record_fingerprints(tx, &printed).await?;
    }
    let joined: Vec<(&Delivery<'_>, i64, &Joined)> = fresh
        .iter()
        .zip(stories)
        .filter_map(|(new, story)| Some((new, story.id, story.joined.as_ref()?)))
        .collect();
    if !joined.is_empty() {
        record_evidence(tx, &joined).await?;
    }
    Ok(())
}

/// The values of one column of `rows`, for an `UNNEST` parameter.
fn column<T, U>(rows: &[T], value: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(value).collect()
}

/// The fingerprints of new articles, and their band keys: the window's
/// index, with what ranking a candidate needs beside each key.
async fn record_fingerprints(
    tx: &mut Transaction<'_, Postgres>,
    printed: &[(&Delivery<'_>, &Fingerprint)],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO article_fingerprints (article_id, fingerprint)
         SELECT * FROM UNNEST($1::bigint[], $2::bytea[])",
    )
    .bind(column(printed, |(new, _)| new.id))
    .bind(column(printed, |(_, f)| f.to_bytes()))
    .execute(&mut **tx)
    .await?;
    // Each article's times read once and bound as times: an article has
    // some twenty band keys, and PostgreSQL reading the times from text
    // for every one of them was a seventh of this insert.
    let times: Vec<(DateTime<Utc>, DateTime<Utc>)> = printed
        .iter()
        .map(|(new, _)| (new.published_time(), new.seen_time()))
        .collect();
    let mut bands: Vec<(i64, usize)> = printed
        .iter()
        .enumerate()
        .flat_map(|(at, (_, f))| f.bands().map(move |key| (key as i64, at)))
        .collect();
    bands.sort_unstable_by_key(|(key, at)| (*key, printed[*at].0.id));
    bands.dedup_by_key(|(key, at)| (*key, printed[*at].0.id));
    sqlx::query(
        "INSERT INTO article_bands (band_key, article_id, source_id, published, stored)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[],
                              $5::timestamptz[])",
    )
    .bind(column(&bands, |(key, _)| *key))
    .bind(column(&bands, |(_, at)| printed[*at].0.id))
    .bind(column(&bands, |(_, at)| printed[*at].0.source_id))
    .bind(column(&bands, |(_, at)| times[*at].0))
    .bind(column(&bands, |(_, at)| times[*at].1))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Why each new article that joined a story joined it.
async fn record_evidence(
    tx: &mut Transaction<'_, Postgres>,
    joined: &[(&Delivery<'_>, i64, &Joined)],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO story_evidence (article_id, story_id, matched_article_id, method, overlap,
                                     jaccard, numbers_agree, minutes_apart, event, decided_at)
         SELECT id, story, matched, 'text', overlap, jaccard, agree, apart, event, decided::timestamptz
           FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::float8[], $5::float8[],
                       $6::bool[], $7::bigint[], $8::text[], $9::text[])
             AS t(id, story, matched, overlap, jaccard, agree, apart, event, decided)",
    )
    .bind(column(joined, |(new, _, _)| new.id))
    .bind(column(joined, |(_, story, _)| *story))
    .bind(column(joined, |(_, _, j)| j.matched))
    .bind(column(joined, |(_, _, j)| j.found.overlap))
    .bind(column(joined, |(_, _, j)| j.found.jaccard))
    .bind(column(joined, |(_, _, j)| j.found.numbers_agree))
    .bind(column(joined, |(_, _, j)| j.minutes_apart))
    .bind(column(joined, |(_, _, j)| j.found.event.as_ref().map(ToString::to_string)))
    .bind(column(joined, |(new, _, _)| new.seen_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
