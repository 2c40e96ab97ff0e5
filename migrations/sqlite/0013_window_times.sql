-- The stories window's times beside each fingerprint, in unix seconds: when
-- the article was published and when tidings stored it. The writer reads the
-- last 72 hours' fingerprints when a process first stores an article that
-- may join a story; read from the articles' own rows, these two times read
-- each row past its content, most of the table (60-250 ms of an update round
-- of 1,000 feeds; docs/performance.md).
ALTER TABLE article_fingerprints ADD COLUMN published INTEGER;
ALTER TABLE article_fingerprints ADD COLUMN stored INTEGER;

UPDATE article_fingerprints
   SET (published, stored) = (SELECT CAST(strftime('%s', a.published) AS INTEGER),
                                     CAST(strftime('%s', a.first_seen) AS INTEGER)
                                FROM articles a
                               WHERE a.id = article_fingerprints.article_id);

-- A new date from the feed, or one set by hand, moves the window's copy.
CREATE TRIGGER article_fingerprints_published AFTER UPDATE OF published ON articles
WHEN new.published IS NOT old.published BEGIN
    UPDATE article_fingerprints SET published = CAST(strftime('%s', new.published) AS INTEGER)
     WHERE article_id = new.id;
END;
