-- Old received activity ids are forgotten after the dedupe window; this finds them.
CREATE INDEX received_activities_at ON received_activities (received_at);
