DROP TABLE broadcasts;
DROP TABLE streams;
DROP TABLE yp_tokens;
DROP TABLE users;
