-- A touch (every 30 s per stream) changes only the title, the listener counts and
-- last_touch_at: with no index on those columns it rewrites the row and no index entry. So the
-- reaper's index (state, last_touch_at) goes; once a second it walks the on-air broadcasts in id
-- order instead, and checks their last touch row by row. (On PostgreSQL the same change makes
-- touches HOT updates.)
DROP INDEX broadcasts_reaper;
CREATE INDEX broadcasts_on_air ON broadcasts (id) WHERE state <> 'ended';
