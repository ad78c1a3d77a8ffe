-- Scheduled shows of a local stream: a one-off or weekly broadcast announced ahead as an Event.
-- Times are the wall-clock time in the show's own zone, so that a weekly 20:00 stays 20:00 across
-- daylight-saving changes; instants are computed from them.
CREATE TABLE shows (
    id BIGSERIAL PRIMARY KEY,
    stream_id BIGINT NOT NULL REFERENCES streams (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    -- The first occurrence's start, local to time_zone.
    starts_local TIMESTAMP NOT NULL,
    duration_minutes INTEGER NOT NULL,
    -- An IANA zone name (Europe/Berlin).
    time_zone TEXT NOT NULL,
    weekly BOOLEAN NOT NULL,
    -- Local dates (YYYY-MM-DD, comma-joined) a weekly show skips.
    exceptions TEXT NOT NULL,
    cancelled_at TIMESTAMP,
    -- The occurrence (its UTC start) followers were last told of: a weekly show's Event moves
    -- on to the next one after it ends.
    announced_start TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX shows_by_stream ON shows (stream_id);

-- The show a broadcast is (it started within the show's window): its post takes the show's
-- title and links the Event.
ALTER TABLE broadcasts ADD COLUMN show_id BIGINT REFERENCES shows (id);
ALTER TABLE broadcasts ADD COLUMN show_title TEXT;
