//! Open event streams (`/streams/{handle}/events`), capped in total and per client: each is a
//! connection and a descriptor held for as long as the page is open.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
};

/// Why an event stream was not opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This client has its share open.
    Client,
    /// The process has as many open as it allows.
    Full,
}

/// The open event streams by client.
#[derive(Debug)]
pub struct EventStreams {
    total: usize,
    per_client: u32,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, u32>,
}

/// An open event stream; dropping it (the connection ends) frees its place.
#[derive(Debug)]
pub struct Ticket {
    streams: Arc<EventStreams>,
    client: IpAddr,
}

impl EventStreams {
    pub fn new(total: usize, per_client: u32) -> Arc<Self> {
        Arc::new(Self {
            total,
            per_client,
            open: Mutex::default(),
        })
    }

    /// A place for one more stream of `client` (a [`super::client_key`]).
    pub fn open(self: &Arc<Self>, client: IpAddr) -> Result<Ticket, Refusal> {
        let mut open = self.lock();
        if open.total >= self.total {
            return Err(Refusal::Full);
        }
        let mine = open.by_client.entry(client).or_default();
        if *mine >= self.per_client {
            return Err(Refusal::Client);
        }
        *mine += 1;
        open.total += 1;
        Ok(Ticket {
            streams: self.clone(),
            client,
        })
    }

    /// Streams open now.
    pub fn count(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self.streams.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_client_and_in_total_and_frees_on_drop() {
        let streams = EventStreams::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let c: IpAddr = "192.0.2.3".parse().unwrap();
        let a1 = streams.open(a).unwrap();
        let _a2 = streams.open(a).unwrap();
        assert_eq!(streams.open(a).unwrap_err(), Refusal::Client);
        let _b1 = streams.open(b).unwrap();
        assert_eq!(streams.open(c).unwrap_err(), Refusal::Full);
        drop(a1);
        assert_eq!(streams.count(), 2);
        let _c1 = streams.open(c).unwrap();
        assert_eq!(streams.open(a).unwrap_err(), Refusal::Full);
    }
}
