//! Requests per client: a generic cell rate (GCRA, the token bucket kept as one timestamp per
//! client). Each client may make `burst` requests at once and then `per_second` a second.
//!
//! No crate for this is in the offline registry (governor would be the choice); this is the
//! same algorithm in one small map, sharded so that workers rarely contend.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// Shards of the client map: a worker locks one at a time.
const SHARDS: usize = 16;
/// A shard with more clients than this forgets those that are back to a full burst.
const PRUNE_AT: usize = 4096;

/// One route class's limit.
#[derive(Debug)]
pub struct Limiter {
    /// Time one request costs; zero: no limit.
    cost: Duration,
    /// Credit a client may run ahead of its rate: its burst.
    credit: Duration,
    start: Instant,
    /// Per client: when its bucket is full again (the "theoretical arrival time"), from `start`.
    shards: [Mutex<HashMap<IpAddr, Duration>>; SHARDS],
}

impl Limiter {
    /// `per_second` requests a second after a burst of `burst`; 0 disables the limit.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let cost = match per_second {
            0 => Duration::ZERO,
            n => Duration::from_secs(1) / n,
        };
        Self {
            cost,
            credit: cost * burst.max(1),
            start: Instant::now(),
            shards: std::array::from_fn(|_| Mutex::default()),
        }
    }

    /// Counts one request of `client` (a [`super::client_key`]): `Err` with the time until it
    /// may ask again when it is over its limit.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.check_at(client, self.start.elapsed())
    }

    /// [`Limiter::check`] at a given time since the limiter was made (tests).
    pub fn check_at(&self, client: IpAddr, now: Duration) -> Result<(), Duration> {
        if self.cost.is_zero() {
            return Ok(());
        }
        let shard = &self.shards[shard_of(client)];
        let mut clients = shard.lock().unwrap_or_else(PoisonError::into_inner);
        let full_at = clients.get(&client).copied().unwrap_or(now).max(now);
        let next = full_at + self.cost;
        if next - now > self.credit {
            return Err(next - now - self.credit);
        }
        if clients.len() >= PRUNE_AT {
            clients.retain(|_, at| *at > now);
        }
        clients.insert(client, next);
        Ok(())
    }

    /// Clients this limiter remembers (tests and the load bench: it must not grow for good).
    pub fn remembered(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

fn shard_of(client: IpAddr) -> usize {
    let last = match client {
        IpAddr::V4(v4) => u32::from(v4) as usize,
        IpAddr::V6(v6) => (u128::from(v6) >> 64) as usize,
    };
    last % SHARDS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = Limiter::new(10, 5);
        let t = Duration::from_secs(100);
        for _ in 0..5 {
            assert!(limiter.check_at(ip("192.0.2.1"), t).is_ok());
        }
        let wait = limiter.check_at(ip("192.0.2.1"), t).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        // Another client is not affected.
        assert!(limiter.check_at(ip("192.0.2.2"), t).is_ok());
        // A tenth of a second later, one more request.
        let later = t + Duration::from_millis(100);
        assert!(limiter.check_at(ip("192.0.2.1"), later).is_ok());
        assert!(limiter.check_at(ip("192.0.2.1"), later).is_err());
        // Quiet for a while: the whole burst again.
        let rested = t + Duration::from_secs(10);
        for _ in 0..5 {
            assert!(limiter.check_at(ip("192.0.2.1"), rested).is_ok());
        }
        assert!(limiter.check_at(ip("192.0.2.1"), rested).is_err());
    }

    #[test]
    fn zero_means_no_limit() {
        let limiter = Limiter::new(0, 0);
        for _ in 0..10_000 {
            assert!(limiter.check_at(ip("192.0.2.1"), Duration::ZERO).is_ok());
        }
        assert_eq!(limiter.remembered(), 0);
    }

    #[test]
    fn clients_back_to_a_full_burst_are_forgotten() {
        let limiter = Limiter::new(100, 1);
        for i in 0..(PRUNE_AT * SHARDS) as u32 {
            let client = IpAddr::V4(i.into());
            assert!(limiter.check_at(client, Duration::ZERO).is_ok());
        }
        // A second later every one of them is back to full; new clients push them out.
        for i in 0..SHARDS as u32 {
            let client = IpAddr::V4((u32::MAX - i).into());
            assert!(limiter.check_at(client, Duration::from_secs(1)).is_ok());
        }
        assert!(limiter.remembered() <= SHARDS * 2);
    }
}
