-- The polls in flight on a host, over every poller, for the per-host limit:
-- the sources of the host that some poller holds (the lease is released,
-- and its token cleared, when the poll is written).
CREATE INDEX sources_leased_by_host ON sources (host) WHERE lease_token IS NOT NULL;
