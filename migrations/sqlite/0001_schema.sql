-- The tidings database. It is a public interface: people query it directly,
-- so every table and column here is documented in docs/schema.md.
-- Dates are UTC text 'YYYY-MM-DDTHH:MM:SSZ': they sort as text and work with date().

CREATE TABLE sources (
    id            INTEGER PRIMARY KEY,
    url           TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    category      TEXT NOT NULL,
    channel       TEXT,
    active        INTEGER NOT NULL DEFAULT 1,   -- 0 once it leaves the config
    feed_title    TEXT,
    feed_link     TEXT,
    etag          TEXT,
    last_modified TEXT,
    last_polled   TEXT,
    last_success  TEXT,
    last_status   TEXT,                          -- ok, not_modified, error, gone
    last_error    TEXT,
    error_count   INTEGER NOT NULL DEFAULT 0,    -- failures in a row
    next_due      TEXT,
    config_hash   TEXT                           -- a changed config entry revives a gone source
);

CREATE TABLE articles (
    id           INTEGER PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,           -- identity: canonical link, guid:..., hash:...
    title        TEXT NOT NULL,
    link         TEXT,
    guid         TEXT,
    author       TEXT NOT NULL,
    published    TEXT NOT NULL,
    updated      TEXT,
    summary      TEXT NOT NULL,
    content_html TEXT NOT NULL,
    image        TEXT,
    content_hash TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL
);
CREATE INDEX articles_by_published ON articles (published DESC, id DESC);

CREATE TABLE article_categories (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    category   TEXT NOT NULL,
    position   INTEGER NOT NULL,                 -- order of the reference post
    published  TEXT NOT NULL,                    -- articles.published, so a category feed
                                                 -- reads its newest entries from one index
    PRIMARY KEY (article_id, category)
) WITHOUT ROWID;
CREATE INDEX article_categories_by_category ON article_categories (category, published DESC, article_id DESC);

CREATE TABLE article_sources (
    article_id   INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    source_id    INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    guid         TEXT,                           -- the id this source gave the story
    content_hash TEXT NOT NULL,                  -- what this source last delivered
    first_seen   TEXT NOT NULL,
    PRIMARY KEY (article_id, source_id)
) WITHOUT ROWID;
CREATE INDEX article_sources_by_source ON article_sources (source_id, article_id);

CREATE TABLE fetch_log (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    started_at  TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    outcome     TEXT NOT NULL,                   -- ok, not_modified, error, gone
    http_status INTEGER,
    bytes       INTEGER NOT NULL DEFAULT 0,
    new_articles       INTEGER NOT NULL DEFAULT 0,
    updated_articles   INTEGER NOT NULL DEFAULT 0,
    unchanged_articles INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);
CREATE INDEX fetch_log_by_source ON fetch_log (source_id, started_at);

-- Full-text search over title and summary. Trigrams work for Chinese, which has
-- no spaces between words. Contentless: the text lives in articles.
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, body, content = '', contentless_delete = 1, tokenize = 'trigram'
);

-- One row per article with its categories and sources, for people writing SQL.
CREATE VIEW article_overview AS
SELECT a.id, a.key, a.title, a.link, a.author, a.published, a.updated, a.image,
       (SELECT group_concat(category, ' / ') FROM
           (SELECT category FROM article_categories c WHERE c.article_id = a.id ORDER BY position)
       ) AS categories,
       (SELECT group_concat(s.name || ' <' || s.url || '>', ', ')
          FROM article_sources x JOIN sources s ON s.id = x.source_id
         WHERE x.article_id = a.id) AS sources,
       a.first_seen, a.last_seen
  FROM articles a;

-- Each source with its health and article count.
CREATE VIEW source_overview AS
SELECT s.id, s.name, s.url, s.category, s.channel, s.active, s.last_status, s.last_error,
       s.error_count, s.last_polled, s.last_success, s.next_due,
       (SELECT count(*) FROM article_sources x WHERE x.source_id = s.id) AS articles
  FROM sources s;
