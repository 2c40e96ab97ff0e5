-- The rows a poll writes for its entries that name an article (its labels,
-- its sources, its fingerprint, why it joined a story) are no longer checked
-- against `articles` by foreign keys. Each check ran at commit, a query and
-- a row lock for every row: 106,000 of them in a cold poll of 1,000 feeds,
-- in the stretch where a poller holds the keys other pollers wait for, and
-- the poll took 13% longer for them (docs/performance.md).
--
-- What the keys guarded is kept another way:
-- * an article deleted takes its rows with it: the trigger below, named to
--   run where the cascades ran, before `articles_leave_stories`;
-- * a poller that links a source or labels to an article it found stored
--   holds that article (`FOR KEY SHARE`, the lock the checks took) from the
--   moment it finds it, so a DELETE of it, by hand or by `tidings refilter`,
--   waits for the poll to commit and then takes the poll's rows too; a poll
--   that finds an article being deleted waits, then stores the entry anew.
-- A hand INSERT of a row naming an article that does not exist is no longer
-- refused (as on SQLite, whose tools leave foreign keys off).
ALTER TABLE article_categories DROP CONSTRAINT IF EXISTS article_categories_article_id_fkey;
ALTER TABLE article_sources DROP CONSTRAINT IF EXISTS article_sources_article_id_fkey;
ALTER TABLE article_fingerprints DROP CONSTRAINT IF EXISTS article_fingerprints_article_id_fkey;
ALTER TABLE story_evidence DROP CONSTRAINT IF EXISTS story_evidence_article_id_fkey;

CREATE FUNCTION articles_drop_their_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM article_categories WHERE article_id = OLD.id;
    DELETE FROM article_sources WHERE article_id = OLD.id;
    DELETE FROM article_fingerprints WHERE article_id = OLD.id;
    DELETE FROM story_evidence WHERE article_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER articles_drop_their_rows AFTER DELETE ON articles
    FOR EACH ROW EXECUTE FUNCTION articles_drop_their_rows();
