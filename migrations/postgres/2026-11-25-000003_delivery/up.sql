-- The durable delivery queue: each activity stored once, one row per target inbox.

CREATE TABLE activities (
    id BIGSERIAL PRIMARY KEY,
    -- The activity's id (a URL of ours).
    ap_id TEXT NOT NULL UNIQUE,
    -- Create | Update | Delete | Accept | Reject | Follow | Undo
    kind TEXT NOT NULL,
    -- The id of the object it is about, for supersession (a Delete drops a pending Create).
    object_id TEXT,
    -- The signing actor: a stream, or NULL for the instance actor.
    stream_id BIGINT REFERENCES streams (id),
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX activities_object ON activities (object_id);

CREATE TABLE deliveries (
    id BIGSERIAL PRIMARY KEY,
    activity_id BIGINT NOT NULL REFERENCES activities (id),
    inbox TEXT NOT NULL,
    host TEXT NOT NULL,
    -- pending | delivered | failed | superseded
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    -- A worker holds a claimed delivery until then; past it, another may take it over.
    lease_until TIMESTAMP,
    last_error TEXT,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_inbox ON deliveries (inbox, state);
