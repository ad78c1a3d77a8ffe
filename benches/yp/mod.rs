//! The YP bench's Icecast: its wire format and its load.

pub mod icecast;
pub mod load;
