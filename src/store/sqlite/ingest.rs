//! Writing the articles of a group of polls to SQLite: what happens to every
//! entry is decided in memory (`store::plan`), then only the rows that change
//! are written.
//!
//! The writer is the one stage that cannot run on both cores, so it does as
//! little as it can per row: what the database knows of the group's keys (the
//! article, what each source last delivered, its labels) comes from what the
//! writer remembers of earlier groups ([`Recent`]), and two queries for the
//! rest, whatever the number of polls and entries.
//!
//! Rows are written by prepared single-row statements on the group's
//! transaction (see `on_writer` in the parent module for why the writer talks
//! to SQLite through rusqlite): a single-row statement needs no statement
//! journal, the copy SQLite makes of every page a multi-row statement changes
//! so it can undo just that statement. New articles are the exception, for
//! the search index's sake (see [`insert_articles`]).

use std::borrow::Cow;

use hashbrown::HashMap;
use hashbrown::hash_map::Entry;

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, params};

use super::stories;
use crate::article::Summary;
use crate::cluster::Story;
use crate::cluster::window::{WINDOW, Window};
use crate::read::dates::{from_db, to_db};
use crate::store::plan::{
    CategoryRow, Delivery, Known, LastSeen, PageRow, Planned, PollArticles, StoredAs, earlier_keys,
    may_join, plan, recalled_ids, stored_key,
};

/// What the writer learned of the articles it wrote or looked up lately, so
/// a story that many feeds carry is read from the database once rather than
/// once per feed and poll. It holds only while nothing else writes the
/// database: `PRAGMA data_version` moves when another connection commits (a
/// second process, someone's hand `DELETE`), and then it is forgotten.
#[derive(Default)]
pub(super) struct Recent {
    known: HashMap<String, Known>,
    data_version: Option<i64>,
    /// The articles new ones may be reprints of, and the last article id
    /// it has seen; `None` until read from the database.
    window: Option<(Window, i64)>,
    /// The id of the next new article: the writer numbers the articles it
    /// stores, so the database is asked once, and again after someone else
    /// wrote.
    next_id: Option<i64>,
}

/// Articles [`Recent`] remembers at most (a few hundred bytes each): more, and it
/// starts again from nothing. A thousand feeds carry about 15,000; at 5,000
/// feeds, 50,000 cost 20 MB more at the peak than this, and no time.
const RECENT_ARTICLES: usize = 20_000;

impl Recent {
    /// Forgets everything, after a group whose transaction rolled back (its
    /// plan and its new articles are remembered but not in the database).
    pub(super) fn forget(&mut self) {
        self.known.clear();
        self.data_version = None;
        self.window = None;
        self.next_id = None;
    }

    /// Forgets what someone else may have changed since the last group: the
    /// articles it knows and the next id. The window stays: what others
    /// stored since is added to it, and a member's story is read again when
    /// it is matched.
    fn check(&mut self, db: &Connection) -> rusqlite::Result<()> {
        let version: i64 = db.query_row("PRAGMA data_version", [], |row| row.get(0))?;
        let written_by_others = self.data_version != Some(version);
        if written_by_others {
            self.next_id = None;
        }
        if written_by_others || self.known.len() > RECENT_ARTICLES {
            self.known.clear();
            self.data_version = Some(version);
        }
        Ok(())
    }

    /// The id the group's first new article gets.
    fn next_id(&mut self, db: &Connection) -> rusqlite::Result<i64> {
        match self.next_id {
            Some(id) => Ok(id),
            None => db.query_row("SELECT coalesce(max(id), 0) + 1 FROM articles", [], |row| {
                row.get(0)
            }),
        }
    }
}

/// Stores the articles of every poll in `polls` inside the group's
/// transaction, and returns what happened to each poll's entries. The caller
/// must [`Recent::forget`] if the transaction does not commit.
pub(super) fn store_articles(
    db: &Connection,
    polls: &[PollArticles<'_>],
    recent: &mut Recent,
) -> rusqlite::Result<Vec<Planned>> {
    recent.check(db)?;
    let stored_as = look_up_earlier_keys(db, polls)?;
    look_up_keys(db, polls, &stored_as, &mut recent.known)?;
    let mut last_seen = look_up_last_seen(db, polls)?;
    let first_new_id = recent.next_id(db)?;
    let (plan, planned) = plan(
        polls,
        &mut recent.known,
        &stored_as,
        &mut last_seen,
        first_new_id..,
    );
    recent.next_id = Some(first_new_id + plan.fresh.len() as i64);
    // Polls that brought nothing to write (not modified, failed) prepare no
    // statement: a group's statements are prepared again for each group.
    if plan.writes_nothing() {
        return Ok(planned);
    }
    let now = polls
        .first()
        .map_or(0, |poll| from_db(&poll.now).map_or(0, |t| t.timestamp()));
    // The window is read only for groups with new articles that may join a
    // story: a poll of unchanged feeds costs nothing more.
    let stories = if plan.fresh.iter().any(may_join) {
        let (window, seen_through) = recent.window.get_or_insert_with(|| (Window::default(), 0));
        stories::top_up_window(db, window, *seen_through, now)?;
        window.forget_before(now - WINDOW.num_seconds());
        let stories = stories::assign(db, &plan.fresh, window)?;
        *seen_through = first_new_id - 1 + plan.fresh.len() as i64;
        stories
    } else {
        plan.fresh.iter().map(|new| Story::alone(new.id)).collect()
    };

    insert_articles(db, &plan.fresh, &stories)?;
    stories::record(db, &plan.fresh, &stories)?;
    queue_pages(db, &plan.pages)?;
    update_articles(db, &plan.changed)?;
    link_sources(db, &plan.links)?;
    add_categories(db, &plan.categories)?;
    date_categories(db, &plan.changed)?;
    let mut seen = db.prepare_cached("UPDATE articles SET last_seen = ?2 WHERE id = ?1")?;
    for (id, seen_at) in &plan.seen {
        seen.execute(params![id, seen_at])?;
    }
    Ok(planned)
}

/// When the articles of the group's recalled entries were last seen (see
/// `plan::LastSeen`); a query only for groups that have recalled entries.
fn look_up_last_seen(db: &Connection, polls: &[PollArticles<'_>]) -> rusqlite::Result<LastSeen> {
    let ids = recalled_ids(polls);
    let mut last_seen = LastSeen::new();
    if ids.is_empty() {
        return Ok(last_seen);
    }
    let mut query = db.prepare_cached(
        "SELECT a.id, a.last_seen FROM json_each(?) AS wanted JOIN articles a ON a.id = wanted.value",
    )?;
    let mut rows = query.query([json(&ids)])?;
    while let Some(row) = rows.next()? {
        last_seen.insert(row.get(0)?, row.get(1)?);
    }
    Ok(last_seen)
}

/// The entries of the group stored under an earlier key of theirs (see
/// `plan::StoredAs`); a query only for groups with entries that have one.
fn look_up_earlier_keys(db: &Connection, polls: &[PollArticles<'_>]) -> rusqlite::Result<StoredAs> {
    let wanted = earlier_keys(polls);
    let mut stored_as = StoredAs::new();
    if wanted.is_empty() {
        return Ok(stored_as);
    }
    let wanted: Vec<serde_json::Value> = wanted
        .iter()
        .map(|w| serde_json::json!([w.earlier, w.key, w.source_id, w.guid, w.title]))
        .collect();
    let mut query = db.prepare_cached(
        "SELECT json_extract(w.value, '$[0]'), json_extract(w.value, '$[1]'), x.source_id
           FROM json_each(?) AS w
           JOIN articles a ON a.key = json_extract(w.value, '$[0]')
           JOIN article_sources x ON x.article_id = a.id
                                 AND x.source_id = json_extract(w.value, '$[2]')
          WHERE x.guid = json_extract(w.value, '$[3]')
             OR (json_extract(w.value, '$[3]') IS NULL AND x.guid IS NULL
                 AND a.title = json_extract(w.value, '$[4]'))",
    )?;
    let mut rows = query.query([serde_json::Value::from(wanted).to_string()])?;
    while let Some(row) = rows.next()? {
        stored_as.insert((row.get(2)?, row.get(1)?), row.get(0)?);
    }
    Ok(stored_as)
}

/// Adds to `known` what the database knows of every key of the group that it
/// lacks: the article, what each source last delivered, and its categories.
fn look_up_keys(
    db: &Connection,
    polls: &[PollArticles<'_>],
    stored_as: &StoredAs,
    known: &mut HashMap<String, Known>,
) -> rusqlite::Result<()> {
    // In order, as the index has them: each of its pages is read once.
    let mut keys: Vec<&str> = polls
        .iter()
        .flat_map(|p| {
            p.articles
                .iter()
                .map(|a| stored_key(a, p.source_id, stored_as))
        })
        .filter(|key| !known.contains_key(*key))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(());
    }
    // The keys found, by article id, for reading their categories.
    let mut found: HashMap<i64, String> = HashMap::new();
    let mut query = db.prepare_cached(
        "SELECT a.key, a.id, a.published, a.last_seen, x.source_id, x.content_hash
           FROM json_each(?) AS wanted
           JOIN articles a ON a.key = wanted.value
           LEFT JOIN article_sources x ON x.article_id = a.id",
    )?;
    let mut rows = query.query([json(&keys)])?;
    while let Some(row) = rows.next()? {
        let entry = match known.entry(row.get(0)?) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(slot) => {
                let id = row.get(1)?;
                found.insert(id, slot.key().clone());
                slot.insert(Known {
                    id,
                    published: row.get(2)?,
                    last_seen: row.get(3)?,
                    labels: Vec::new(),
                    last_position: -1,
                    delivered: Vec::new(),
                })
            }
        };
        if let Some(source_id) = row.get::<_, Option<i64>>(4)? {
            entry.deliver(source_id, row.get(5)?);
        }
    }
    let mut query = db.prepare_cached(
        "SELECT c.article_id, c.category, c.position
           FROM json_each(?) AS found JOIN article_categories c ON c.article_id = found.value",
    )?;
    let mut ids: Vec<i64> = found.keys().copied().collect();
    ids.sort_unstable();
    let mut rows = query.query([json(&ids)])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        if let Some(entry) = found.get(&id).and_then(|key| known.get_mut(key)) {
            entry.labels.push(row.get(1)?);
            entry.last_position = entry.last_position.max(row.get(2)?);
        }
    }
    Ok(())
}

/// Inserts new articles with the ids the plan gave them (an entry without a
/// date is dated when first seen), [`ARTICLES_PER_INSERT`] a statement.
///
/// Many rows a statement, because of the search index's triggers: a statement
/// that fires a trigger runs in a statement transaction, and FTS5 writes its
/// pending terms out at the start of each one: row by row, every article
/// would become a segment of its own, and merging them cost more than
/// writing them.
/// (Tables without triggers are better written row by row: a multi-row
/// statement needs a statement journal, which costs more than it saves.)
fn insert_articles(
    db: &Connection,
    fresh: &[Delivery<'_>],
    stories: &[Story],
) -> rusqlite::Result<()> {
    const COLUMNS: usize = 17;
    let row = format!("({})", vec!["?"; COLUMNS].join(", "));
    for (chunk, stories) in fresh
        .chunks(ARTICLES_PER_INSERT)
        .zip(stories.chunks(ARTICLES_PER_INSERT))
    {
        let dates: Vec<(String, Option<String>)> = chunk
            .iter()
            .map(|new| (new.published(), new.article.updated.map(to_db)))
            .collect();
        let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * COLUMNS);
        for ((new, (published, updated)), story) in chunk.iter().zip(&dates).zip(stories) {
            let a = new.article;
            let row: [&dyn rusqlite::ToSql; COLUMNS] = [
                &new.id,
                &a.key,
                &a.title,
                &a.link,
                &a.guid,
                &a.author,
                published,
                updated,
                &a.summary,
                &a.content.html,
                &a.image,
                &a.content_hash,
                &new.seen_at,
                &new.seen_at,
                &a.content.text,
                &a.source_html,
                &story.id,
            ];
            values.extend(row);
        }
        let sql = format!(
            "INSERT INTO articles (id, key, title, link, guid, author, published, updated, summary,
                                   content_html, image, content_hash, first_seen, last_seen, plain_text,
                                   source_html, story_id)
             VALUES {}",
            vec![row.as_str(); chunk.len()].join(", ")
        );
        db.prepare_cached(&sql)?.execute(values.as_slice())?;
    }
    Ok(())
}

/// New articles a statement: few statements, and far below SQLite's limit of
/// bound values.
const ARTICLES_PER_INSERT: usize = 128;

/// A summary cut from the article's text is made as it is bound.
impl rusqlite::ToSql for Summary {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.text() {
            Cow::Borrowed(text) => ToSqlOutput::from(text),
            Cow::Owned(text) => ToSqlOutput::from(text),
        })
    }
}

/// Rewrites articles whose feed changed them, and what that feed last
/// delivered. `updated` moves to the entry's own updated time when the feed
/// gives a newer one, else to now. An article read from its page keeps the
/// page's content (and image, unless the feed now has one): the feed's is
/// the summary it was read for.
fn update_articles(db: &Connection, changed: &[Delivery<'_>]) -> rusqlite::Result<()> {
    let mut read_from_page = db.prepare_cached(
        "SELECT count(*) FROM article_pages WHERE article_id = ?1 AND state = 'fetched'",
    )?;
    let mut article = db.prepare_cached(
        "UPDATE articles SET title = ?2, link = ?3, author = ?4, published = coalesce(?5, published),
                updated = CASE WHEN ?6 > coalesce(updated, '') THEN ?6 ELSE ?11 END,
                summary = ?7, content_hash = ?10, last_seen = ?11,
                content_html = CASE WHEN ?13 THEN content_html ELSE ?8 END,
                plain_text = CASE WHEN ?13 THEN plain_text ELSE ?12 END,
                source_html = CASE WHEN ?13 THEN source_html ELSE ?14 END,
                image = CASE WHEN ?13 THEN coalesce(?9, image) ELSE ?9 END
          WHERE id = ?1",
    )?;
    let mut link = db.prepare_cached(
        "UPDATE article_sources SET guid = ?3, content_hash = ?4
          WHERE article_id = ?1 AND source_id = ?2",
    )?;
    for change in changed {
        let a = change.article;
        article.execute(params![
            change.id,
            a.title,
            a.link,
            a.author,
            a.published.map(to_db),
            a.updated.map(to_db),
            a.summary,
            a.content.html,
            a.image,
            a.content_hash,
            change.seen_at,
            a.content.text,
            read_from_page.query_row([change.id], |row| row.get::<_, i64>(0))? > 0,
            a.source_html,
        ])?;
        link.execute(params![change.id, change.source_id, a.guid, a.content_hash])?;
    }
    Ok(())
}

/// Queues the pages of new articles for `pages` to fetch.
fn queue_pages(db: &Connection, pages: &[PageRow<'_>]) -> rusqlite::Result<()> {
    let mut insert = db.prepare_cached(
        "INSERT INTO article_pages (article_id, source_id, url, next_attempt) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for page in pages {
        insert.execute(params![page.id, page.source_id, page.url, page.now])?;
    }
    Ok(())
}

/// Records that each source carries each article in this version, with the id it gave it.
fn link_sources(db: &Connection, links: &[Delivery<'_>]) -> rusqlite::Result<()> {
    let mut insert = db.prepare_cached(
        "INSERT INTO article_sources (article_id, source_id, guid, content_hash, first_seen)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for link in links {
        let a = link.article;
        insert.execute(params![
            link.id,
            link.source_id,
            a.guid,
            a.content_hash,
            link.seen_at
        ])?;
    }
    Ok(())
}

/// Adds each article's categories after the ones it already has, keeping
/// their order, and counts them into `label_counts`: one upsert per label the
/// group added to (a trigger per row, as deletes have, cost a sixth of a
/// cold poll).
fn add_categories(db: &Connection, categories: &[CategoryRow<'_>]) -> rusqlite::Result<()> {
    let mut insert = db.prepare_cached(
        "INSERT OR IGNORE INTO article_categories (article_id, category, position, published)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut added: HashMap<&str, i64> = HashMap::new();
    for row in categories {
        if insert.execute(params![row.id, row.label, row.position, row.published])? > 0 {
            *added.entry(row.label).or_default() += 1;
        }
    }
    let mut count = db.prepare_cached(
        "INSERT INTO label_counts (category, articles) VALUES (?1, ?2)
             ON CONFLICT (category) DO UPDATE SET articles = articles + excluded.articles",
    )?;
    for (label, articles) in added {
        count.execute(params![label, articles])?;
    }
    Ok(())
}

/// Gives the category rows of changed articles, the ones this group added
/// included, the article's publication time: category feeds read it from
/// their own index. `OR FAIL` because the statement changes several rows: a
/// failure fails the group's transaction anyway, so it needs no statement journal.
fn date_categories(db: &Connection, changed: &[Delivery<'_>]) -> rusqlite::Result<()> {
    let mut update = db.prepare_cached(
        "UPDATE OR FAIL article_categories SET published = (SELECT published FROM articles WHERE id = ?1)
          WHERE article_id = ?1",
    )?;
    for change in changed {
        update.execute([change.id])?;
    }
    Ok(())
}

/// A list bound as one JSON value, for `json_each`: any length, one statement.
fn json<T: serde::Serialize + ?Sized>(values: &T) -> String {
    serde_json::to_string(values).expect("ids, keys and times are JSON")
}
