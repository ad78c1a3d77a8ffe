-- What followers were last told about a broadcast, for coalescing title Updates.
ALTER TABLE broadcasts ADD COLUMN announced_title TEXT;
ALTER TABLE broadcasts ADD COLUMN announced_at TIMESTAMP;
