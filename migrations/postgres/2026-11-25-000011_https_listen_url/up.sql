-- An https address of the stream (the owner's TLS front or relay): browsers on https pages play
-- only that. Icecast itself reports http.
ALTER TABLE streams ADD COLUMN https_listen_url TEXT;
