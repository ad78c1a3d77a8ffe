//! One integration binary: the real app on port 0, against SQLite or (with
//! `ONAIR_TEST_DATABASE_URL`) PostgreSQL.

mod api;
mod cli;
mod helpers;
mod icecast;
mod yp;
mod yp_fixtures;
