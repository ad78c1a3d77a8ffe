//! One integration binary: the real app on port 0, against SQLite or (with
//! `ONAIR_TEST_DATABASE_URL`) PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod admin;
mod announce;
mod api;
mod attacks;
mod browser;
mod catalog;
mod cli;
mod dashboard;
mod delivery;
mod delivery_faults;
mod fake_relay;
mod federation;
mod first_hour;
mod helpers;
mod icecast;
mod live_pages;
mod pages;
mod pasture;
mod posts;
mod processes;
mod production;
mod relay;
mod restart;
mod show_upkeep;
mod shows;
mod signatures;
mod signin_limits;
mod sinks;
mod yp;
mod yp_fixtures;
