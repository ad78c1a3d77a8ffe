ALTER TABLE streams DROP COLUMN header_url;
ALTER TABLE streams DROP COLUMN content_warning;
ALTER TABLE streams DROP COLUMN post_template;
ALTER TABLE streams DROP COLUMN language;
ALTER TABLE streams DROP COLUMN title_edits;
