//! The YP bench's Icecast: its wire format and its load.

pub mod database;
pub mod icecast;
pub mod load;
pub mod machine;
