//! Stories on PostgreSQL: which story each new article of a poll joins,
//! decided as on SQLite (`cluster::find_story` over a window of candidates),
//! but with the candidates read from the database (`article_bands`), since
//! other pollers store articles too: the newest few articles of each of the
//! new articles' band keys, stored within the last [`WINDOW`]. The band keys
//! are the window's index, with what ranking a candidate needs beside each
//! (migrations/postgres/0003); keys that left the window are deleted.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hashbrown::{HashMap, HashSet};
use sqlx::{Postgres, Row, Transaction};

use crate::cluster::window::{Member, WINDOW, Window};
use crate::cluster::{self, CHECKS, Comparable, Fingerprint};
use crate::read::dates::from_db;
use crate::store::plan::{Delivery, Joined, Story, may_join};

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
    let in_group: HashMap<i64, &Delivery<'_>> = fresh.iter().map(|new| (new.id, new)).collect();
    let mut texts: HashMap<i64, Arc<Comparable>> = HashMap::new();
    // The story each stored article read for a check is in now.
    let mut stored_stories: HashMap<i64, i64> = HashMap::new();
    let mut stories = Vec::with_capacity(fresh.len());
    for new in fresh {
        let (true, Some(fingerprint)) = (new.cluster, &new.article.fingerprint) else {
            stories.push(Story::alone(new.id));
            continue;
        };
        let stored = from_db(new.seen_at).map_or(0, |t| t.timestamp());
        let published = new.article.published.map_or(stored, |t| t.timestamp());
        // The texts the check may need, read ahead: it cannot wait.
        let wanted: Vec<i64> = window
            .candidates(fingerprint, new.source_id, published)
            .into_iter()
            .take(CHECKS)
            .map(|candidate| candidate.member.id)
            .filter(|id| !texts.contains_key(id))
            .collect();
        for id in &wanted {
            if let Some(member) = in_group.get(id) {
                let text = cluster::comparable_article(&member.article.title, &member.article.text);
                texts.insert(*id, Arc::new(text));
            }
        }
        let stored_ids: Vec<i64> = wanted
            .into_iter()
            .filter(|id| !in_group.contains_key(id))
            .collect();
        if !stored_ids.is_empty() {
            for row in sqlx::query(
                "SELECT id, story_id, title, plain_text FROM articles WHERE id = ANY($1)",
            )
            .bind(&stored_ids)
            .fetch_all(&mut **tx)
            .await?
            {
                let text = cluster::comparable_article(row.get(2), row.get(3));
                texts.insert(row.get(0), Arc::new(text));
                stored_stories.insert(row.get(0), row.get(1));
            }
        }
        let comparable = || {
            Arc::new(cluster::comparable_article(
                &new.article.title,
                &new.article.text,
            ))
        };
        let found = cluster::find_story(
            &window,
            fingerprint,
            new.source_id,
            published,
            comparable,
            |member| texts.get(&member.id).cloned(),
            |_| false,
        );
        let story = match found {
            Some((matched, found)) => {
                let story_id = stored_stories
                    .get(&matched.id)
                    .copied()
                    .unwrap_or(matched.story_id);
                Story::joining(story_id, &matched, found, published)
            }
            None => Story::alone(new.id),
        };
        window.add(
            new.member(story.id, published, stored, fingerprint),
            fingerprint,
        );
        stories.push(story);
    }
    Ok(stories)
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
        sqlx::query(
            "INSERT INTO article_fingerprints (article_id, fingerprint)
             SELECT * FROM UNNEST($1::bigint[], $2::bytea[])",
        )
        .bind(printed.iter().map(|(new, _)| new.id).collect::<Vec<_>>())
        .bind(
            printed
                .iter()
                .map(|(_, f)| f.to_bytes())
                .collect::<Vec<_>>(),
        )
        .execute(&mut **tx)
        .await?;
        let mut bands: Vec<(i64, &Delivery<'_>)> = printed
            .iter()
            .flat_map(|(new, f)| f.bands().map(move |key| (key as i64, *new)))
            .collect();
        bands.sort_unstable_by_key(|(key, new)| (*key, new.id));
        bands.dedup_by_key(|(key, new)| (*key, new.id));
        sqlx::query(
            "INSERT INTO article_bands (band_key, article_id, source_id, published, stored)
             SELECT key, id, source, published::timestamptz, stored::timestamptz
               FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[])
                 AS t(key, id, source, published, stored)",
        )
        .bind(bands.iter().map(|(key, _)| *key).collect::<Vec<_>>())
        .bind(bands.iter().map(|(_, new)| new.id).collect::<Vec<_>>())
        .bind(
            bands
                .iter()
                .map(|(_, new)| new.source_id)
                .collect::<Vec<_>>(),
        )
        .bind(
            bands
                .iter()
                .map(|(_, new)| new.published())
                .collect::<Vec<_>>(),
        )
        .bind(bands.iter().map(|(_, new)| new.seen_at).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    }
    let joined: Vec<(&Delivery<'_>, i64, &Joined)> = fresh
        .iter()
        .zip(stories)
        .filter_map(|(new, story)| Some((new, story.id, story.joined.as_ref()?)))
        .collect();
    if !joined.is_empty() {
        sqlx::query(
            "INSERT INTO story_evidence (article_id, story_id, matched_article_id, method, overlap,
                                         jaccard, numbers_agree, minutes_apart, decided_at)
             SELECT id, story, matched, 'text', overlap, jaccard, agree, apart, decided::timestamptz
               FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::float8[], $5::float8[],
                           $6::bool[], $7::bigint[], $8::text[])
                 AS t(id, story, matched, overlap, jaccard, agree, apart, decided)",
        )
        .bind(joined.iter().map(|(new, _, _)| new.id).collect::<Vec<_>>())
        .bind(
            joined
                .iter()
                .map(|(_, story, _)| *story)
                .collect::<Vec<_>>(),
        )
        .bind(joined.iter().map(|(_, _, j)| j.matched).collect::<Vec<_>>())
        .bind(
            joined
                .iter()
                .map(|(_, _, j)| j.found.overlap)
                .collect::<Vec<_>>(),
        )
        .bind(
            joined
                .iter()
                .map(|(_, _, j)| j.found.jaccard)
                .collect::<Vec<_>>(),
        )
        .bind(
            joined
                .iter()
                .map(|(_, _, j)| j.found.numbers_agree)
                .collect::<Vec<_>>(),
        )
        .bind(
            joined
                .iter()
                .map(|(_, _, j)| j.minutes_apart)
                .collect::<Vec<_>>(),
        )
        .bind(
            joined
                .iter()
                .map(|(new, _, _)| new.seen_at)
                .collect::<Vec<_>>(),
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
