-- Scheduled shows (Events) of followed remote streams, as their origin announced them: the
-- catalog's upcoming list. Text is sanitised before it is stored; a past one is forgotten.
CREATE TABLE remote_shows (
    id INTEGER PRIMARY KEY,
    remote_stream_id INTEGER NOT NULL REFERENCES remote_streams (id),
    object_id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    url TEXT,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    time_zone TEXT NOT NULL,
    live BOOLEAN NOT NULL,
    heard_at TIMESTAMP NOT NULL
);
CREATE INDEX remote_shows_by_end ON remote_shows (ends_at);
