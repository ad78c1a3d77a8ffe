ALTER TABLE streams DROP COLUMN show_reminder;
ALTER TABLE shows DROP COLUMN reminded_start;
ALTER TABLE shows DROP COLUMN announced_at;
ALTER TABLE shows DROP COLUMN finished_at;
