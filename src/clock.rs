//! Time as the application sees it. Tests step a manual clock instead of sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// The source of "now" for every timestamp the application writes or compares.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A clock that moves only when told to (tests).
    Manual(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// A manual clock starting at the current system time.
    pub fn manual() -> Self {
        Self::Manual(Arc::new(Mutex::new(Utc::now())))
    }

    /// Now, in UTC, truncated to microseconds so that it survives a round trip through PostgreSQL.
    pub fn now(&self) -> NaiveDateTime {
        let now = match self {
            Self::System => Utc::now(),
            Self::Manual(t) => *t.lock().unwrap_or_else(|p| p.into_inner()),
        };
        let micros = now.timestamp_micros();
        DateTime::from_timestamp_micros(micros)
            .unwrap_or(now)
            .naive_utc()
    }

    /// Moves a manual clock forward; does nothing to the system clock.
    pub fn advance(&self, by: TimeDelta) {
        if let Self::Manual(t) = self {
            let mut t = t.lock().unwrap_or_else(|p| p.into_inner());
            *t += by;
        }
    }
}
