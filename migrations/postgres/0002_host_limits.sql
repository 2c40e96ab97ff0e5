-- The per-host limit over every poller: a claim counts the fetches in
-- flight on the source's host, those of its sources claimed and not yet
-- fetched. `fetching_until` is set with the lease and cleared when the
-- fetch ends (or the poll is written); a poller that dies mid-fetch holds
-- its host's slot until the lease would have ended.
ALTER TABLE sources ADD COLUMN fetching_until timestamptz;
CREATE INDEX sources_fetching_by_host ON sources (host) WHERE fetching_until IS NOT NULL;
