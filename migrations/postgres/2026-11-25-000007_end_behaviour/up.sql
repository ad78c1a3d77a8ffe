-- What followers are told when a broadcast ends: `delete` (the post disappears) or `update` (the
-- post stays and says the stream was on air). A broadcast remembers which it got, so its URL keeps
-- answering the same way after the setting changes.
ALTER TABLE streams ADD COLUMN on_end TEXT NOT NULL DEFAULT 'delete';
ALTER TABLE broadcasts ADD COLUMN kept BOOLEAN NOT NULL DEFAULT FALSE;
