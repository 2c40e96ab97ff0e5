-- New articles enter the search index with a plain INSERT (see store/ingest.rs), so
-- an article someone deletes by hand must leave the index too: its id may be given
-- to the next new article.
CREATE TRIGGER articles_leave_search AFTER DELETE ON articles BEGIN
    DELETE FROM articles_fts WHERE rowid = old.id;
END;
