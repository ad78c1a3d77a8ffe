-- The continuous sender (issue 11): leases carry their holder, so they can be renewed and only
-- the holder records outcomes; claims pick due work host by host; the circuit breaker lives here
-- so that every process leaves a dead host alone.

-- The worker (one per process) holding the lease; NULL when nobody does.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;

-- Claims take due pending work in queue order; the finished rest is only read by housekeeping.
-- Every index is paid for on each insert and each change of state, so there are only these
-- (the unused one on inboxes goes; per-host changes, rare, walk the pending rows).
DROP INDEX deliveries_due;
DROP INDEX deliveries_inbox;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE state <> 'pending';
-- Housekeeping forgets activities no delivery refers to.
CREATE INDEX deliveries_activity ON deliveries (activity_id);

-- One row per host that failed lately.
CREATE TABLE host_breakers (
    host TEXT PRIMARY KEY,
    -- Failed attempts (no answer, 5xx, 408, 429) since the host last answered.
    failures INTEGER NOT NULL,
    -- While open: since when, until when, and the failure that opened it.
    opened_at TIMESTAMP,
    open_until TIMESTAMP,
    reason TEXT,
    updated_at TIMESTAMP NOT NULL
);
