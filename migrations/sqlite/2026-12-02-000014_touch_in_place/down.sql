CREATE INDEX broadcasts_reaper ON broadcasts (state, last_touch_at);
