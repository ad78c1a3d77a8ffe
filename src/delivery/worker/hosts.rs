//! Claimed work waiting per host, and whose turn it is: hosts take turns one request at a time,
//! so a host with 9,000 deliveries waiting gets no more turns than one with 10, and a host whose
//! requests are all running (slow, say) simply has no turn until one of them ends.

use std::collections::{HashMap, VecDeque};

/// Per-host queues of `T` with a cap on what runs at once per host.
#[derive(Debug)]
pub(super) struct Hosts<T> {
    per_host: usize,
    queues: HashMap<String, Queue<T>>,
    /// Hosts with work waiting and a free slot, in turn order: each appears once.
    turns: VecDeque<String>,
    waiting: usize,
    running: usize,
}

#[derive(Debug)]
struct Queue<T> {
    waiting: VecDeque<T>,
    running: usize,
    /// Whether the host is in `turns`.
    queued: bool,
}

impl<T> Hosts<T> {
    pub(super) fn new(per_host: usize) -> Self {
        Self {
            per_host: per_host.max(1),
            queues: HashMap::new(),
            turns: VecDeque::new(),
            waiting: 0,
            running: 0,
        }
    }

    /// Work waiting, not yet started.
    pub(super) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Waiting work that could start now: what hosts with free slots have waiting, up to
    /// their free slots. Work behind a host whose slots are all running does not count, so a
    /// slow host's backlog never stops the claiming of other hosts' work.
    pub(super) fn startable(&self) -> usize {
        self.turns
            .iter()
            .filter_map(|h| self.queues.get(h))
            .map(|q| {
                q.waiting
                    .len()
                    .min(self.per_host - q.running.min(self.per_host))
            })
            .sum()
    }

    /// Work started and not yet finished.
    pub(super) fn running(&self) -> usize {
        self.running
    }

    /// Adds work for `host`.
    pub(super) fn push(&mut self, host: &str, item: T) {
        let queue = self.queues.entry(host.to_owned()).or_insert(Queue {
            waiting: VecDeque::new(),
            running: 0,
            queued: false,
        });
        queue.waiting.push_back(item);
        self.waiting += 1;
        if !queue.queued && queue.running < self.per_host {
            queue.queued = true;
            self.turns.push_back(host.to_owned());
        }
    }

    /// The next item to start, from the host whose turn it is; it counts as running on that host
    /// until [`Hosts::finished`].
    pub(super) fn start_next(&mut self) -> Option<(String, T)> {
        let host = self.turns.pop_front()?;
        let queue = self.queues.get_mut(&host)?;
        let item = queue.waiting.pop_front()?;
        queue.running += 1;
        self.waiting -= 1;
        self.running += 1;
        if !queue.waiting.is_empty() && queue.running < self.per_host {
            self.turns.push_back(host.clone());
        } else {
            queue.queued = false;
        }
        Some((host, item))
    }

    /// Something started on `host` ended: its slot is free.
    pub(super) fn finished(&mut self, host: &str) {
        let Some(queue) = self.queues.get_mut(host) else {
            return;
        };
        queue.running = queue.running.saturating_sub(1);
        self.running = self.running.saturating_sub(1);
        if !queue.queued && !queue.waiting.is_empty() {
            queue.queued = true;
            self.turns.push_back(host.to_owned());
        } else if queue.running == 0 && queue.waiting.is_empty() {
            self.queues.remove(host);
        }
    }

    /// Takes every waiting item of `host` out (its breaker opened).
    pub(super) fn take_waiting(&mut self, host: &str) -> Vec<T> {
        let Some(queue) = self.queues.get_mut(host) else {
            return Vec::new();
        };
        let taken: Vec<T> = queue.waiting.drain(..).collect();
        self.waiting -= taken.len();
        if queue.queued {
            queue.queued = false;
            self.turns.retain(|h| h != host);
        }
        if queue.running == 0 {
            self.queues.remove(host);
        }
        taken
    }

    /// Hosts holding at least `cap` items, waiting and running together: enough for now.
    pub(super) fn saturated(&self, cap: usize) -> Vec<String> {
        self.queues
            .iter()
            .filter(|(_, q)| q.waiting.len() + q.running >= cap)
            .map(|(h, _)| h.clone())
            .collect()
    }

    /// Hosts with work waiting.
    pub(super) fn hosts_waiting(&self) -> impl Iterator<Item = &str> {
        self.queues
            .iter()
            .filter(|(_, q)| !q.waiting.is_empty())
            .map(|(h, _)| h.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Hosts;

    #[test]
    fn hosts_take_turns_whatever_the_order_work_came_in() {
        let mut hosts = Hosts::new(8);
        for i in 0..100 {
            hosts.push("big.example", i);
        }
        hosts.push("small.example", 1000);
        hosts.push("small.example", 1001);
        let first: Vec<String> = (0..4)
            .filter_map(|_| hosts.start_next())
            .map(|(h, _)| h)
            .collect();
        assert_eq!(
            first,
            [
                "big.example",
                "small.example",
                "big.example",
                "small.example"
            ]
        );
    }

    #[test]
    fn a_host_whose_slots_are_all_running_waits_without_holding_others() {
        let mut hosts = Hosts::new(2);
        for i in 0..10 {
            hosts.push("slow.example", i);
        }
        assert_eq!(
            hosts.start_next().map(|(h, _)| h).as_deref(),
            Some("slow.example")
        );
        assert_eq!(
            hosts.start_next().map(|(h, _)| h).as_deref(),
            Some("slow.example")
        );
        assert!(hosts.start_next().is_none(), "both of its slots are taken");
        hosts.push("fast.example", 99);
        assert_eq!(hosts.start_next(), Some(("fast.example".to_owned(), 99)));
        hosts.finished("slow.example");
        assert_eq!(hosts.start_next(), Some(("slow.example".to_owned(), 2)));
        assert_eq!((hosts.running(), hosts.waiting()), (3, 7));
        assert_eq!(
            hosts.startable(),
            0,
            "its seven wait behind its own running two"
        );
        assert_eq!(hosts.saturated(9), ["slow.example"]);
    }

    #[test]
    fn taking_a_hosts_waiting_work_leaves_its_running_work_counted() {
        let mut hosts = Hosts::new(1);
        for i in 0..3 {
            hosts.push("dead.example", i);
        }
        hosts.start_next();
        assert_eq!(hosts.take_waiting("dead.example"), [1, 2]);
        assert!(hosts.start_next().is_none());
        assert_eq!((hosts.running(), hosts.waiting()), (1, 0));
        hosts.finished("dead.example");
        assert_eq!(hosts.running(), 0);
        assert!(hosts.saturated(1).is_empty(), "forgotten once idle");
    }
}
