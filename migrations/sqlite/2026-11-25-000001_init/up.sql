-- Accounts, YP tokens, local streams and their broadcasts (one on-air session each).
-- Kept column for column in step with migrations/postgres; timestamps are UTC.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    disabled_at TIMESTAMP
);

CREATE TABLE yp_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    label TEXT NOT NULL,
    -- SHA-256 of the token, hex: the token itself is shown once and never stored.
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX yp_tokens_user ON yp_tokens (user_id);

CREATE TABLE streams (
    id INTEGER PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users (id),
    handle TEXT NOT NULL UNIQUE,
    listen_url TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    -- Comma-separated, as the broadcaster spelled them.
    genres TEXT NOT NULL,
    homepage TEXT NOT NULL,
    content_type TEXT NOT NULL,
    codec TEXT NOT NULL,
    bitrate INTEGER,
    samplerate INTEGER,
    channels INTEGER,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (owner_id, listen_url)
);

CREATE TABLE broadcasts (
    id INTEGER PRIMARY KEY,
    stream_id BIGINT NOT NULL REFERENCES streams (id),
    -- live | ending | ended
    state TEXT NOT NULL,
    -- The SID Icecast touches with; NULL once removed or ended.
    sid TEXT UNIQUE,
    title TEXT NOT NULL,
    listeners INTEGER NOT NULL,
    max_listeners INTEGER,
    started_at TIMESTAMP NOT NULL,
    last_touch_at TIMESTAMP NOT NULL,
    ending_since TIMESTAMP,
    ended_at TIMESTAMP
);
-- At most one broadcast per stream is on air (live or ending) at any time.
CREATE UNIQUE INDEX broadcasts_one_active ON broadcasts (stream_id) WHERE state <> 'ended';
CREATE INDEX broadcasts_reaper ON broadcasts (state, last_touch_at);
