DROP TABLE blocks;
DROP TABLE remote_broadcasts;
DROP TABLE remote_streams;
DROP TABLE subscriptions;
