ALTER TABLE broadcasts RESET (fillfactor);
CREATE INDEX broadcasts_reaper ON broadcasts (state, last_touch_at);
