ALTER TABLE streams DROP COLUMN https_listen_url;
