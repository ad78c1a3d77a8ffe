DROP TABLE host_breakers;
DROP INDEX deliveries_activity;
DROP INDEX deliveries_finished;
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_inbox ON deliveries (inbox, state);
ALTER TABLE deliveries DROP COLUMN lease_owner;
