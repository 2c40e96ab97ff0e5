-- article_bands becomes the index of the 72-hour window of articles a new
-- one may be a reprint of, as SQLite's writer keeps it in memory:
--
-- * Beside each band key, what a poller needs to rank the article as a
--   candidate, so that a poll's candidates are read from the index alone:
--   the source that first carried it (a reprint comes from another), when
--   it says it was published and when it was stored, as they were when it
--   was stored.
-- * Rows that left the window are deleted by the pollers (every ten
--   minutes, by `stored`); those of an article deleted by hand go with
--   them, and until then match nothing (candidates are joined with their
--   fingerprints, which go with the article). No foreign key: checking one
--   for each of an article's 21 keys cost more than the rest of its write.
ALTER TABLE article_bands
    ADD COLUMN source_id bigint,
    ADD COLUMN published timestamptz,
    ADD COLUMN stored timestamptz;
UPDATE article_bands b
   SET source_id = o.source_id, published = a.published, stored = a.first_seen
  FROM articles a JOIN article_origins o ON o.article_id = a.id
 WHERE a.id = b.article_id;
DELETE FROM article_bands WHERE source_id IS NULL;
DROP INDEX article_bands_by_article;
ALTER TABLE article_bands
    ALTER COLUMN source_id SET NOT NULL,
    ALTER COLUMN published SET NOT NULL,
    ALTER COLUMN stored SET NOT NULL,
    DROP CONSTRAINT article_bands_article_id_fkey,
    DROP CONSTRAINT article_bands_pkey,
    ADD PRIMARY KEY (band_key, article_id) INCLUDE (source_id, published, stored);
CREATE INDEX article_bands_by_stored ON article_bands USING brin (stored);
