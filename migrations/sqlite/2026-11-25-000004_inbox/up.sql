-- The inbox: remote actors we heard from (a cache), and activity ids already processed.

CREATE TABLE remote_actors (
    id INTEGER PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    public_key_pem TEXT NOT NULL,
    fetched_at TIMESTAMP NOT NULL
);

CREATE TABLE received_activities (
    ap_id TEXT PRIMARY KEY,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX received_activities_age ON received_activities (received_at);
