-- Search over every word of the article, in an index the SQLite of today's
-- long-term-support distributions can read, search and change by hand (3.34,
-- the first with the trigram tokenizer; docs/schema.md). The old index was
-- contentless with `contentless_delete`, an option older SQLite refuses to
-- read at all, and it held the title and the first 200 characters.
--
-- The text now lives in `articles.plain_text`, and the index is an external
-- content index of it (`content="articles"`, spelled as Datasette looks for
-- it): kept in step by triggers, so an article deleted or edited by hand
-- leaves or changes the index, whatever tool did it.
DROP TRIGGER articles_leave_search;
DROP TABLE articles_fts;

ALTER TABLE articles ADD COLUMN plain_text TEXT NOT NULL DEFAULT '';
-- tidings_plain_text() is tidings' own HTML-to-text, which the migrating
-- connection defines (store::define_functions): stored articles get the same
-- text new ones do.
UPDATE articles SET plain_text = tidings_plain_text(content_html);

-- detail=none: the index keeps which trigrams each article has, not where
-- (a fifth of the size, a third of the time to write); docs/schema.md shows
-- how to query it. columnsize=0: no per-row sizes, which only ranking reads.
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, plain_text, content="articles", content_rowid="id", tokenize="trigram",
    detail=none, columnsize=0
);
INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');
-- tidings merges the index's segments while its writer is idle
-- (store::merge_while_idle), not while a poll waits; FTS5 still merges by
-- itself once a level holds 16 segments.
INSERT INTO articles_fts (articles_fts, rank) VALUES ('automerge', 0);

CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, plain_text) VALUES (new.id, new.title, new.plain_text);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, plain_text)
    VALUES ('delete', old.id, old.title, old.plain_text);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, plain_text ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, plain_text)
    VALUES ('delete', old.id, old.title, old.plain_text);
    INSERT INTO articles_fts (rowid, title, plain_text) VALUES (new.id, new.title, new.plain_text);
END;

-- The SQLite tools people use leave foreign keys off, so ON DELETE CASCADE
-- does nothing for a hand DELETE there; an article's labels and sources go
-- with it all the same (a new article may be given its id).
CREATE TRIGGER articles_leave_labels_and_sources AFTER DELETE ON articles BEGIN
    DELETE FROM article_categories WHERE article_id = old.id;
    DELETE FROM article_sources WHERE article_id = old.id;
END;
