-- A touch (every 30 s per stream) changes only the title, the listener counts and
-- last_touch_at. With no index on those columns PostgreSQL updates the row in place on its page
-- (a HOT update): no new entry in every index of the table per touch, and the old version is
-- pruned with the page rather than left for vacuum. So the reaper's index (state,
-- last_touch_at) goes; once a second it walks the on-air broadcasts in id order instead, and
-- checks their last touch row by row. No index on state alone either: without statistics
-- (autovacuum off, a new database) the planner took one for the touches' lookups by SID and
-- scanned every live row.
DROP INDEX broadcasts_reaper;
CREATE INDEX broadcasts_on_air ON broadcasts (id) WHERE state <> 'ended';
-- Room on each page for the next version of its rows.
ALTER TABLE broadcasts SET (fillfactor = 70);
