-- What Icecast last asked with a YP URL and what it was told, and its last refusal, so that the
-- broadcaster sees why a stream did not appear (Icecast waits two hours after a refused add).
ALTER TABLE yp_tokens ADD COLUMN last_request_at TIMESTAMP;
ALTER TABLE yp_tokens ADD COLUMN last_action TEXT;
ALTER TABLE yp_tokens ADD COLUMN last_ok BOOLEAN;
ALTER TABLE yp_tokens ADD COLUMN last_message TEXT;
ALTER TABLE yp_tokens ADD COLUMN refused_at TIMESTAMP;
ALTER TABLE yp_tokens ADD COLUMN refused_action TEXT;
ALTER TABLE yp_tokens ADD COLUMN refused_message TEXT;
