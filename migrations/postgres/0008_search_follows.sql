-- The search index follows the articles instead of being written with them.
-- Reading every trigram of a new article's text into the GIN index was a
-- third of a cold poll's database time, on the transaction that holds the
-- locks other pollers' writes wait for. Now an article is stored with
-- `indexed` false, outside the index; a task of each poller (see
-- `store::postgres`) sets it a few hundred articles a statement, on its own
-- connection, which puts them in the index. A search reads the index for
-- the indexed articles and the text of the few that are not yet, so
-- everything stored is found at once, and a hand edit of an indexed
-- article is indexed as it is written, as before.
ALTER TABLE articles ADD COLUMN indexed boolean NOT NULL DEFAULT true;
ALTER TABLE articles ALTER COLUMN indexed SET DEFAULT false;

DROP INDEX articles_search;
CREATE INDEX articles_search ON articles USING gin ((title || ' ' || plain_text) gin_trgm_ops)
    WHERE indexed;
CREATE INDEX articles_unindexed ON articles (id) WHERE NOT indexed;

-- Indexing changes nothing the feeds show: readers are not told of it.
CREATE OR REPLACE FUNCTION tidings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('tidings.indexing', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('tidings_changed', '');
    END IF;
    RETURN NULL;
END $$;
