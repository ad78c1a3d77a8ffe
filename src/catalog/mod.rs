//! The federated catalog (DESIGN.md §6): remote streams the instance actor follows, and what
//! they broadcast, kept true by their announcements and by re-fetching what went quiet.

pub mod event;
pub mod intake;
pub mod origin;
pub mod refresh;
pub mod relayed;
pub mod remote;

/// What an announcement did to the catalog (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// A live broadcast (or a show) was stored or updated.
    Live,
    /// A broadcast left the catalog (ended or deleted).
    Removed,
    /// A followed stream's profile was refreshed.
    Profile,
    /// Nothing: not ours to take (not followed, not attributed to the signer, no live state).
    Ignored,
    /// Nothing: the activity was taken before.
    Duplicate,
}
