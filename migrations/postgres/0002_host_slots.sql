-- The per-host limit over every poller: `per_host` slots a host, each a
-- row. A claim takes a free slot of the source's host with its lease
-- (`FOR UPDATE SKIP LOCKED`: pollers claiming sources of one host at once
-- take different slots, none waits for another), and gives it back when
-- its fetch ends; a poller that dies mid-fetch holds its slot until the
-- lease would have ended. Slots are made when a claim first finds its
-- host without enough of them.
CREATE TABLE host_slots (
    host        text NOT NULL,
    slot        integer NOT NULL,
    lease_token text,                 -- the claim fetching from the host in this slot
    until       timestamptz,          -- free again after this, whatever became of the claim
    PRIMARY KEY (host, slot)
);
