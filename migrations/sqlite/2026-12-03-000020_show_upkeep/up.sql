-- What keeping a schedule needs: when a one-off show was over (it leaves the active set, so
-- lists and the per-stream limit skip it), the `updated` last sent of its Event (each Update is
-- newer than the last; an edited show's last change stands for it until then), per stream how
-- many minutes ahead of a show its followers are reminded (0: never, the default), and which
-- occurrence (its UTC start) a show's broadcast is.
ALTER TABLE shows ADD COLUMN finished_at TIMESTAMP;
ALTER TABLE shows ADD COLUMN announced_at TIMESTAMP;
UPDATE shows SET announced_at = updated_at WHERE updated_at > created_at;
ALTER TABLE streams ADD COLUMN show_reminder INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN show_start TIMESTAMP;

-- The reminder posts sent: one per occurrence of a show (the unique key), with what it said, so
-- its URL serves what followers got; withdrawn when the occurrence will not happen.
CREATE TABLE show_reminders (
    id INTEGER PRIMARY KEY,
    show_id INTEGER NOT NULL REFERENCES shows (id),
    starts_at TIMESTAMP NOT NULL,
    minutes INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    UNIQUE (show_id, starts_at)
);
