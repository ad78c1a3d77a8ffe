-- Failed sign-ins (the form and the admin API's HTTP Basic), counted in the database so that
-- every process sees the same tries. One row per key: `name:<account>` or `ip:<client address>`.
CREATE TABLE signin_failures (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    -- The first failure of the current window; the row is forgotten when the window ends.
    first_at TIMESTAMP NOT NULL
);
