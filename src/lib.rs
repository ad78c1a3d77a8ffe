//! onair: Icecast live streams as fediverse accounts.
//!
//! Layering goes one way: `routes → streams → db`; nothing imports `routes`.
//! See docs/ARCHITECTURE.md for the picture.

pub mod accounts;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod delivery;
pub mod error;
pub mod federation;
pub mod listing;
pub mod metrics;
pub mod net;
mod routes;
pub mod server;
pub mod signin;
pub mod state;
pub mod streams;
pub mod urls;
pub mod views;
