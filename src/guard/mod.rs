//! What keeps hostile and careless clients from taking the process down: the descriptor limit
//! raised at start (`fds`), request rates per client on the routes that cost work (`rate`),
//! and open event streams capped in total and per client (`streams`). Pure bookkeeping over
//! client addresses; the HTTP side (which routes, what a refusal says) is `routes::guard`.

pub mod fds;
pub mod rate;
pub mod streams;

use std::{net::IpAddr, sync::Arc};

use self::{rate::Limiter, streams::EventStreams};

/// The limits of one process, shared by its workers.
#[derive(Debug)]
pub struct Guards {
    /// Pages, the JSON API, WebFinger and NodeInfo, event streams.
    pub public: Limiter,
    /// Inbox posts, before their signature is checked.
    pub inbox: Limiter,
    pub event_streams: Arc<EventStreams>,
}

/// The key a client is counted under: its address, or its /64 for IPv6 (one host usually has a
/// whole /64 to pick from).
pub fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
