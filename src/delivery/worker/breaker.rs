//! The circuit breaker's rule: a host that keeps failing is left alone for a while by every
//! process (the state is in `host_breakers`), so a dead instance is not hammered by every
//! delivery of every fan-out; its deliveries wait, due, without spending retries, and are not
//! claimed until the breaker's time is up. The first failure after that opens it again.

use std::collections::HashMap;

use chrono::TimeDelta;

use super::send::Outcome;

/// Failures in a row (no answer, 5xx, 408, 429) after which a host is left alone.
pub(super) const TRIP_AFTER: i32 = 5;
/// How long a tripped host is left alone.
pub(super) const OPEN_FOR: TimeDelta = TimeDelta::minutes(10);

/// What a batch of outcomes says about each host.
#[derive(Debug, Default)]
pub(super) struct HostResults {
    /// Hosts that answered at least once.
    pub(super) answered: Vec<String>,
    /// Hosts that never answered: how often they failed, and the last error.
    pub(super) failed: HashMap<String, (i32, String)>,
}

impl HostResults {
    pub(super) fn of<'a>(outcomes: impl IntoIterator<Item = (&'a str, &'a Outcome)>) -> Self {
        let mut answered: HashMap<&str, bool> = HashMap::new();
        let mut failed: HashMap<String, (i32, String)> = HashMap::new();
        for (host, outcome) in outcomes {
            if outcome.answered() {
                answered.insert(host, true);
            } else if let Outcome::Retry(error) = outcome {
                answered.entry(host).or_insert(false);
                let entry = failed.entry(host.to_owned()).or_insert((0, String::new()));
                entry.0 += 1;
                entry.1.clone_from(error);
            }
        }
        let answered: Vec<String> = answered
            .into_iter()
            .filter(|(_, a)| *a)
            .map(|(h, _)| h.to_owned())
            .collect();
        failed.retain(|h, _| !answered.contains(h));
        Self { answered, failed }
    }
}

#[cfg(test)]
mod tests {
    use super::{HostResults, Outcome};

    #[test]
    fn one_answer_clears_a_host_and_failures_add_up_per_host() {
        let retry = |e: &str| Outcome::Retry(e.to_owned());
        let outcomes = [
            ("a.example", retry("HTTP 503")),
            ("a.example", Outcome::Final("HTTP 404".to_owned())),
            ("b.example", retry("timed out")),
            ("b.example", retry("HTTP 502")),
            ("c.example", Outcome::Delivered),
        ];
        let results = HostResults::of(outcomes.iter().map(|(h, o)| (*h, o)));
        let mut answered = results.answered.clone();
        answered.sort();
        assert_eq!(answered, ["a.example", "c.example"], "a 404 is an answer");
        assert_eq!(results.failed.len(), 1);
        assert_eq!(results.failed["b.example"], (2, "HTTP 502".to_owned()));
    }
}
