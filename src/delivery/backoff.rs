//! When to try a failed delivery again.

use std::time::Duration;

/// Retries before giving up: with the schedule below that is about two days.
pub const MAX_RETRIES: u32 = 13;
const FIRST: Duration = Duration::from_secs(60);
const LONGEST: Duration = Duration::from_secs(12 * 3600);

/// The wait before retry number `retry` (1 = the first retry), doubling from one minute up to
/// twelve hours, spread by `jitter` (0.0–1.0, mapped to ±20 %) so that the deliveries of one
/// fan-out that failed together do not come back together. `None`: give up.
pub fn next_attempt_after(retry: u32, jitter: f64) -> Option<Duration> {
    if retry == 0 || retry > MAX_RETRIES {
        return None;
    }
    let base = FIRST.saturating_mul(1 << (retry - 1).min(20)).min(LONGEST);
    Some(base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{MAX_RETRIES, next_attempt_after};

    #[test]
    fn doubles_from_a_minute_caps_at_twelve_hours_and_gives_up_after_about_two_days() {
        assert_eq!(next_attempt_after(1, 0.5), Some(Duration::from_secs(60)));
        assert_eq!(next_attempt_after(2, 0.5), Some(Duration::from_secs(120)));
        assert_eq!(
            next_attempt_after(11, 0.5),
            Some(Duration::from_secs(12 * 3600))
        );
        assert_eq!(next_attempt_after(MAX_RETRIES + 1, 0.5), None);
        assert_eq!(next_attempt_after(0, 0.5), None);
        let total: Duration = (1..=MAX_RETRIES)
            .filter_map(|r| next_attempt_after(r, 0.5))
            .sum();
        assert!((40..60).contains(&(total.as_secs() / 3600)), "{total:?}");
    }

    #[test]
    fn jitter_spreads_by_twenty_percent() {
        assert_eq!(next_attempt_after(3, 0.0), Some(Duration::from_secs(192)));
        assert_eq!(next_attempt_after(3, 1.0), Some(Duration::from_secs(288)));
    }
}
