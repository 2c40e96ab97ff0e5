-- Full content and rewrite rules (issue 14).

-- What an article's content was made from, before the source's rewrite rules
-- and sanitizing: the feed's HTML for sources with rules, the page's article
-- for articles read from their page. `tidings reprocess` applies changed
-- rules to it. NULL for everything else (content_html is then the feed's
-- HTML, sanitized).
ALTER TABLE articles ADD COLUMN source_html TEXT;

-- The pages of new articles of sources with `full_content`: waiting, read,
-- or given up on (the feed's content stays).
CREATE TABLE article_pages (
    article_id   INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    source_id    INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    url          TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'fetched', 'kept_feed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,                         -- a pending page is not fetched before
    last_error   TEXT,                         -- why the last attempt failed
    attempted_at TEXT                          -- the last attempt
);
CREATE INDEX article_pages_due ON article_pages (source_id, next_attempt)
    WHERE state = 'pending';

DROP TRIGGER articles_leave_labels_and_sources;
CREATE TRIGGER articles_leave_labels_and_sources AFTER DELETE ON articles BEGIN
    DELETE FROM article_categories WHERE article_id = old.id;
    DELETE FROM article_sources WHERE article_id = old.id;
    DELETE FROM article_pages WHERE article_id = old.id;
END;
