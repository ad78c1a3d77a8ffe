ALTER TABLE streams DROP COLUMN icon_url;
ALTER TABLE streams DROP COLUMN display_description;
ALTER TABLE streams DROP COLUMN display_name;
