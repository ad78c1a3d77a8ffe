-- How a stream's posts read, chosen by its broadcaster: whether title changes edit the post
-- (off: Mastodon notifies everyone who boosted a post of each edit), the post's language (empty:
-- the instance's), a go-live text template (empty: the built-in text), a content warning (empty:
-- none; set: the post is sensitive with it as summary), and a header image (https).
ALTER TABLE streams ADD COLUMN title_edits BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE streams ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE streams ADD COLUMN post_template TEXT NOT NULL DEFAULT '';
ALTER TABLE streams ADD COLUMN content_warning TEXT NOT NULL DEFAULT '';
ALTER TABLE streams ADD COLUMN header_url TEXT;
