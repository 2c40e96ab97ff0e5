-- A hash of the last body a source's poll read: a page served again with the
-- same bytes (list pages seldom send an ETag) is not read again. Cleared when
-- the source's config entry changes, so that new selectors read the page anew.
ALTER TABLE sources ADD COLUMN body_hash TEXT;
