-- ActivityPub: key pairs of stream actors and of the instance actor, and followers.

-- A stream actor's key pair, made in the background after the stream is created (RSA generation
-- is too slow for the YP add). Kept apart so the private key is never loaded with stream rows.
CREATE TABLE stream_keys (
    stream_id BIGINT PRIMARY KEY REFERENCES streams (id),
    public_key_pem TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- The instance actor (/actor): one row, id 1.
CREATE TABLE instance_keys (
    id BIGINT PRIMARY KEY,
    public_key_pem TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE followers (
    id BIGSERIAL PRIMARY KEY,
    stream_id BIGINT NOT NULL REFERENCES streams (id),
    actor_id TEXT NOT NULL,
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    -- pending | accepted
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (stream_id, actor_id)
);
