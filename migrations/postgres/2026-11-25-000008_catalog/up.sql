-- The federated catalog: remote streams the instance actor follows, what they broadcast, and
-- blocks.

-- Remote actors the instance actor follows: streams, and relays (FEP-ae0c).
CREATE TABLE subscriptions (
    id BIGSERIAL PRIMARY KEY,
    -- The followed actor (a relay: its actor URL).
    actor_id TEXT NOT NULL UNIQUE,
    inbox TEXT NOT NULL,
    -- stream | relay
    kind TEXT NOT NULL,
    -- pending | accepted | rejected
    state TEXT NOT NULL,
    -- Our Follow's id: Accept and Reject refer to it, Undo embeds it.
    follow_id TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A remote stream actor as it last described itself (text sanitised, lengths clamped).
CREATE TABLE remote_streams (
    id BIGSERIAL PRIMARY KEY,
    actor_id TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    handle TEXT NOT NULL,
    name TEXT NOT NULL,
    summary TEXT NOT NULL,
    icon TEXT,
    url TEXT,
    -- Comma-joined, as on local streams.
    genres TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX remote_streams_host ON remote_streams (host);

-- A remote broadcast (its Note) in the catalog.
CREATE TABLE remote_broadcasts (
    id BIGSERIAL PRIMARY KEY,
    remote_stream_id BIGINT NOT NULL REFERENCES remote_streams (id),
    -- The Note's id.
    object_id TEXT NOT NULL UNIQUE,
    live BOOLEAN NOT NULL,
    title TEXT NOT NULL,
    listen_url TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bitrate INTEGER,
    started_at TIMESTAMP NOT NULL,
    -- The last activity about it, or the last fetch that found it.
    heard_at TIMESTAMP NOT NULL,
    -- Its origin has failed to answer since then (NULL while it answers).
    unreachable_since TIMESTAMP,
    -- Unreachable for too long: kept, but not listed until its origin answers again.
    hidden BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX remote_broadcasts_stream ON remote_broadcasts (remote_stream_id);
CREATE INDEX remote_broadcasts_heard ON remote_broadcasts (live, heard_at);

-- Blocked domains and actors: nothing comes in from them, nothing goes out to them.
CREATE TABLE blocks (
    id BIGSERIAL PRIMARY KEY,
    -- domain | actor
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (kind, value)
);
