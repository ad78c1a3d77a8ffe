ALTER TABLE broadcasts DROP COLUMN announced_at;
ALTER TABLE broadcasts DROP COLUMN announced_title;
