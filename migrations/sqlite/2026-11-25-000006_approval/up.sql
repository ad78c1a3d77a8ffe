-- Follower approval: a per-stream switch, and the Follow id to answer later.
ALTER TABLE streams ADD COLUMN approve_followers BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE followers ADD COLUMN follow_id TEXT;
