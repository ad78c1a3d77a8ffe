ALTER TABLE broadcasts DROP COLUMN show_title;
ALTER TABLE broadcasts DROP COLUMN show_id;
DROP TABLE shows;
