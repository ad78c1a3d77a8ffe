-- A touch (every 30 s per stream) changes only the title, the listener counts and
-- last_touch_at: with no index on those columns it rewrites the row and no index entry. The
-- reaper, once a second, reads the on-air broadcasts through broadcasts_one_active (stream_id
-- WHERE state <> 'ended') and checks their last touch row by row. (On PostgreSQL the same change
-- makes touches HOT updates.)
DROP INDEX broadcasts_reaper;
