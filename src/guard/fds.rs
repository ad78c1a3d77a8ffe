//! The file-descriptor limit. Every connection, database connection and outgoing request holds
//! one; the soft limit systemd and shells hand out (1,024) is far below what the hard limit
//! allows, and a process at its limit answers nothing at all.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// The descriptor limits before and after [`raise`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub soft_before: u64,
    pub soft: u64,
    pub hard: u64,
}

/// Descriptors the process keeps for itself whatever the connections: the database pool, the
/// delivery sender's requests, the listener, logs, the SQLite files.
pub const RESERVED: u64 = 256;

/// Raises the soft limit to the hard limit (capped at a million: a larger table only costs
/// memory) and says what it is now.
pub fn raise() -> Limits {
    let now = getrlimit(Resource::Nofile);
    let unlimited = 1 << 20;
    let hard = now.maximum.unwrap_or(unlimited);
    let soft_before = now.current.unwrap_or(hard);
    let wanted = hard.min(unlimited);
    if wanted > soft_before {
        let raised = Rlimit {
            current: Some(wanted),
            maximum: now.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, soft = soft_before, hard, "cannot raise the descriptor limit");
        }
    }
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(wanted);
    Limits {
        soft_before,
        soft,
        hard,
    }
}

/// Connections the HTTP server may hold at once with `soft` descriptors: what is left after
/// the reserve and the outgoing requests, never below 64.
pub fn connection_budget(soft: u64, outgoing: u64) -> u64 {
    soft.saturating_sub(RESERVED + outgoing).max(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_room_for_the_rest() {
        assert_eq!(connection_budget(1024, 64), 704);
        assert_eq!(connection_budget(65_536, 64), 65_216);
        assert_eq!(connection_budget(100, 64), 64);
    }

    #[test]
    fn raising_never_lowers() {
        let limits = raise();
        assert!(limits.soft >= limits.soft_before);
        assert!(limits.soft <= limits.hard);
    }
}
