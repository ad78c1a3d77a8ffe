ALTER TABLE yp_tokens DROP COLUMN refused_message;
ALTER TABLE yp_tokens DROP COLUMN refused_action;
ALTER TABLE yp_tokens DROP COLUMN refused_at;
ALTER TABLE yp_tokens DROP COLUMN last_message;
ALTER TABLE yp_tokens DROP COLUMN last_ok;
ALTER TABLE yp_tokens DROP COLUMN last_action;
ALTER TABLE yp_tokens DROP COLUMN last_request_at;
