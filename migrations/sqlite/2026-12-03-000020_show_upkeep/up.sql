-- What keeping a schedule needs: when a one-off show was over (it leaves the active set, so
-- lists and the per-stream limit skip it), the `updated` last sent of its Event (each Update is
-- newer than the last), the occurrence (UTC start) a reminder went out for, and per stream how
-- many minutes ahead of a show its followers are reminded (0: never, the default).
ALTER TABLE shows ADD COLUMN finished_at TIMESTAMP;
ALTER TABLE shows ADD COLUMN announced_at TIMESTAMP;
ALTER TABLE shows ADD COLUMN reminded_start TIMESTAMP;
ALTER TABLE streams ADD COLUMN show_reminder INTEGER NOT NULL DEFAULT 0;
