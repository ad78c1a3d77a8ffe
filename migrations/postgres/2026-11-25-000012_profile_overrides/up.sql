-- What the broadcaster sets over what Icecast reports: a display name, a description and an
-- icon (https). Empty means "use Icecast's".
ALTER TABLE streams ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE streams ADD COLUMN display_description TEXT NOT NULL DEFAULT '';
ALTER TABLE streams ADD COLUMN icon_url TEXT;
