ALTER TABLE followers DROP COLUMN follow_id;
ALTER TABLE streams DROP COLUMN approve_followers;
