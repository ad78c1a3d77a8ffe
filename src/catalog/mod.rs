//! The federated catalog (DESIGN.md §6): remote streams the instance actor follows, and what
//! they broadcast, kept true by their announcements and by re-fetching what went quiet.

pub mod event;
pub mod intake;
pub mod origin;
pub mod refresh;
pub mod relayed;
pub mod remote;
