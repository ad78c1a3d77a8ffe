DROP TABLE followers;
DROP TABLE instance_keys;
DROP TABLE stream_keys;
