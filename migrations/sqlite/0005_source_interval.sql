-- The interval each source was last polled at, in seconds, and why: configured,
-- auto (from how often the feed publishes), the feed's <ttl>, Cache-Control,
-- Retry-After or backoff after failures. An `interval = "auto"` source keeps its
-- reading here across 304s and restarts.
ALTER TABLE sources ADD COLUMN interval_seconds INTEGER;
ALTER TABLE sources ADD COLUMN interval_reason TEXT;

DROP VIEW source_overview;
CREATE VIEW source_overview AS
SELECT s.id, s.name, s.url, s.category, s.channel, s.active, s.last_status, s.last_error,
       s.last_warnings, s.error_count, s.last_polled, s.last_success, s.next_due,
       s.interval_seconds, s.interval_reason,
       (SELECT count(*) FROM article_sources x WHERE x.source_id = s.id) AS articles
  FROM sources s;
