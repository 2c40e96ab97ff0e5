-- What each source's last reading was, entry by entry: a digest of every
-- entry and the article it became, sixteen bytes a pair (the digest, then the
-- id, little endian; see `article::recall`). The next reading of the source
-- does not read again the entries it delivers unchanged (sanitizing and
-- fingerprinting them were a fifth of an update round's time). NULL: nothing
-- remembered, every entry is read; a change of the source's settings sets it
-- back to NULL, as it does `body_hash`.
ALTER TABLE sources ADD COLUMN entry_memory BLOB;

-- A source that no longer carries an article (deleted by hand, which deletes
-- its `article_sources` rows too, or by `tidings refilter`) forgets its last
-- reading: the next one reads every entry, and brings back at once what the
-- feed still carries.
CREATE TRIGGER article_sources_forget_readings AFTER DELETE ON article_sources
BEGIN
    UPDATE sources SET entry_memory = NULL
     WHERE id = old.source_id AND entry_memory IS NOT NULL;
END;
