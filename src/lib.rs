//! onair: Icecast live streams as fediverse accounts.
//!
//! Layering goes one way, from the front ends (`routes`, `cli`) down through the domain
//! (`streams`, `federation`, `catalog`, `delivery`) to the ground floor (`db`, `httpsig`, `net`,
//! `text`, …); `layers.rs` checks it. See docs/ARCHITECTURE.md for the picture.

pub mod accounts;
pub mod blocks;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod delivery;
pub mod error;
pub mod federation;
pub mod guard;
pub mod httpsig;
pub mod keys;
#[cfg(test)]
mod layers;
pub mod lifecycle;
pub mod listing;
pub mod live;
pub mod metrics;
pub mod net;
pub mod proxies;
mod routes;
pub mod server;
pub mod signin;
pub mod state;
pub mod streams;
pub mod text;
pub mod timetable;
pub mod urls;
pub mod views;
