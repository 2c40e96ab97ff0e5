-- What reading a feed forgave (XML repaired, a charset label overruled, entries
-- skipped), one message per line: NULL when the last body read cleanly. Kept
-- across 304s and errors, as it describes the last body that was read.
ALTER TABLE sources ADD COLUMN last_warnings TEXT;
ALTER TABLE fetch_log ADD COLUMN warnings TEXT;

DROP VIEW source_overview;
CREATE VIEW source_overview AS
SELECT s.id, s.name, s.url, s.category, s.channel, s.active, s.last_status, s.last_error,
       s.last_warnings, s.error_count, s.last_polled, s.last_success, s.next_due,
       (SELECT count(*) FROM article_sources x WHERE x.source_id = s.id) AS articles
  FROM sources s;
