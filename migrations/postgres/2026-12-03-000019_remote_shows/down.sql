DROP TABLE remote_shows;
