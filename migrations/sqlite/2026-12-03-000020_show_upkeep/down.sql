DROP TABLE show_reminders;
ALTER TABLE broadcasts DROP COLUMN show_start;
ALTER TABLE streams DROP COLUMN show_reminder;
ALTER TABLE shows DROP COLUMN announced_at;
ALTER TABLE shows DROP COLUMN finished_at;
