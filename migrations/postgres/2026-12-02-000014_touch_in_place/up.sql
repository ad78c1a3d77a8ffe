-- A touch (every 30 s per stream) changes only the title, the listener counts and
-- last_touch_at. With no index on those columns PostgreSQL updates the row in place on its page
-- (a HOT update): no new entry in every index of the table per touch, and the old version is
-- pruned with the page rather than left for vacuum. The reaper, once a second, reads the on-air
-- broadcasts through broadcasts_one_active (stream_id WHERE state <> 'ended') and checks their
-- last touch row by row. No index on state alone either: without statistics (autovacuum off, a
-- new database) the planner took it for the touches' lookups by SID and scanned every live row.
DROP INDEX broadcasts_reaper;
-- Room on each page for the next version of its rows.
ALTER TABLE broadcasts SET (fillfactor = 70);
