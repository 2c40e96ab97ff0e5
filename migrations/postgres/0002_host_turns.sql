-- The per-host limit over every poller: `per_host` turns a host, each a
-- row. A poll's claim takes a free turn at its source's host with its
-- lease (`FOR UPDATE SKIP LOCKED`: pollers taking turns at one host at
-- once take different rows, none waits for another), and an article
-- page's fetch takes one of its own; each is given back when its fetch
-- ends. A poller that dies mid-fetch holds its turn until `until`, the
-- fetch's timeout (or the lease, if shorter) after it was taken. Turns
-- are made when a fetch first finds its host without enough of them.
CREATE TABLE host_turns (
    host        text NOT NULL,
    turn        integer NOT NULL,
    lease_token text,                 -- the fetch that has the turn
    until       timestamptz,          -- free again after this, whatever became of the fetch
    PRIMARY KEY (host, turn)
);
