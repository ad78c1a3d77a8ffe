ALTER TABLE broadcasts RESET (fillfactor);
DROP INDEX broadcasts_on_air;
CREATE INDEX broadcasts_reaper ON broadcasts (state, last_touch_at);
