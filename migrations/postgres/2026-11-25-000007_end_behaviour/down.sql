ALTER TABLE broadcasts DROP COLUMN kept;
ALTER TABLE streams DROP COLUMN on_end;
