-- The articles' texts compressed with lz4 instead of pglz, PostgreSQL's
-- default. Compressing them is part of inserting the articles, which is
-- part of the writers' chain: each group of polls takes its key locks when
-- the group before it commits, so the groups are written one after another
-- (see docs/performance.md, "PostgreSQL: the writers' chain"). lz4 took 4%
-- off a cold poll of 1,000 feeds and left the table a little smaller
-- (89 MB against 95). New values only: rows stored before keep pglz, and
-- both read the same.
--
-- lz4 needs PostgreSQL 14 and a server built with it (Debian's is);
-- elsewhere the texts keep pglz.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        EXECUTE 'ALTER TABLE articles
                     ALTER COLUMN summary SET COMPRESSION lz4,
                     ALTER COLUMN content_html SET COMPRESSION lz4,
                     ALTER COLUMN plain_text SET COMPRESSION lz4,
                     ALTER COLUMN source_html SET COMPRESSION lz4';
    END IF;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this server has no lz4: the articles'' texts keep pglz';
END $$;
