//! Who is really asking: the reverse proxies whose forwarding headers are believed, and the
//! client address and scheme read through them. Anyone can send `X-Forwarded-For`; only a
//! request whose connection comes from a trusted proxy has its forwarding headers read, and
//! the chain is walked from the nearest hop outwards for as long as the hops are trusted, so a
//! client cannot choose its own address by writing the header itself.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

/// Addresses and networks of the reverse proxies in front of onair (`trusted_proxies`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct TrustedProxies(Vec<IpNet>);

impl TryFrom<Vec<String>> for TrustedProxies {
    type Error = String;

    fn try_from(list: Vec<String>) -> Result<Self, String> {
        list.iter()
            .map(|s| network(s))
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// `10.0.0.0/8`, `::1` or `127.0.0.1` (a single address is its own /32 or /128).
fn network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an IP address or CIDR network"))
}

impl TrustedProxies {
    /// Parses a comma-separated list (`ONAIR_TRUSTED_PROXIES`).
    pub fn parse_list(text: &str) -> Result<Self, String> {
        let parts: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Self::try_from(parts)
    }

    /// Whether no proxy is trusted (every forwarding header is ignored).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client behind a request that arrived from `peer` with these forwarding headers
    /// (`Forwarded` wins over `X-Forwarded-For` / `X-Forwarded-Proto` when both are present).
    pub fn client(&self, peer: IpAddr, headers: Forwarding<'_>) -> Client {
        let peer = canonical(peer);
        let direct = Client {
            addr: peer,
            https: None,
        };
        if !self.trusts(peer) {
            return direct;
        }
        let (chain, protos) = match headers.forwarded {
            Some(f) => forwarded(f),
            None => (
                headers
                    .x_forwarded_for
                    .map(x_forwarded_for)
                    .unwrap_or_default(),
                headers
                    .x_forwarded_proto
                    .map(|p| {
                        p.split(',')
                            .map(|s| s.trim().to_ascii_lowercase())
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
        };
        // From the nearest hop outwards: the first address not ours to trust is the client. A
        // hop that is not an address (`unknown`, an obfuscated name) ends the walk there.
        let mut client = peer;
        for hop in chain.iter().rev() {
            let Some(ip) = hop else { break };
            client = canonical(*ip);
            if !self.trusts(client) {
                break;
            }
        }
        Client {
            addr: client,
            https: protos.last().map(|p| p == "https"),
        }
    }
}

/// An IPv4 address that arrived mapped into IPv6 (a dual-stack socket) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The forwarding headers of one request, as sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Forwarding<'a> {
    pub forwarded: Option<&'a str>,
    pub x_forwarded_for: Option<&'a str>,
    pub x_forwarded_proto: Option<&'a str>,
}

/// The client as far as onair can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The client's address: the peer's, or the one a trusted proxy reported.
    pub addr: IpAddr,
    /// Whether a trusted proxy said the client used https (`None`: nobody said).
    pub https: Option<bool>,
}

/// `X-Forwarded-For: client, proxy1, proxy2`; entries that are not addresses are `None`.
fn x_forwarded_for(value: &str) -> Vec<Option<IpAddr>> {
    value.split(',').map(|s| node(s.trim())).collect()
}

/// RFC 7239: `for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"`. Returns the `for` chain
/// and the `proto` values in order.
fn forwarded(value: &str) -> (Vec<Option<IpAddr>>, Vec<String>) {
    let (mut chain, mut protos) = (Vec::new(), Vec::new());
    for element in value.split(',') {
        for pair in element.split(';') {
            let Some((key, val)) = pair.trim().split_once('=') else {
                continue;
            };
            let val = val.trim().trim_matches('"');
            match key.trim().to_ascii_lowercase().as_str() {
                "for" => chain.push(node(val)),
                "proto" => protos.push(val.to_ascii_lowercase()),
                _ => {}
            }
        }
    }
    (chain, protos)
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]`, `[2001:db8::1]:80`
/// or a bare IPv6 address.
fn node(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    text.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &str) -> TrustedProxies {
        TrustedProxies::parse_list(list).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(value: &str) -> Forwarding<'_> {
        Forwarding {
            x_forwarded_for: Some(value),
            ..Forwarding::default()
        }
    }

    #[test]
    fn only_trusted_peers_are_believed() {
        let trusted = proxies("127.0.0.1, 10.0.0.0/8");
        let spoof = xff("203.0.113.9");
        assert_eq!(
            trusted.client(ip("198.51.100.7"), spoof).addr,
            ip("198.51.100.7")
        );
        assert_eq!(
            trusted.client(ip("127.0.0.1"), spoof).addr,
            ip("203.0.113.9")
        );
        assert_eq!(
            proxies("").client(ip("127.0.0.1"), spoof).addr,
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_chain_is_walked_from_the_nearest_hop() {
        let trusted = proxies("127.0.0.1,10.0.0.0/8");
        // The client wrote the first entry itself; nginx appended the address it saw.
        let chain = xff("1.2.3.4, 198.51.100.7, 10.1.2.3");
        assert_eq!(
            trusted.client(ip("127.0.0.1"), chain).addr,
            ip("198.51.100.7")
        );
        // Every hop trusted: the outermost one is as far as anyone can tell.
        let inner = xff("10.0.0.5, 10.1.2.3");
        assert_eq!(trusted.client(ip("127.0.0.1"), inner).addr, ip("10.0.0.5"));
        // Garbage ends the walk where it stands.
        let junk = xff("198.51.100.7, nonsense");
        assert_eq!(trusted.client(ip("127.0.0.1"), junk).addr, ip("127.0.0.1"));
    }

    #[test]
    fn forwarded_wins_and_carries_ports_brackets_and_proto() {
        let trusted = proxies("::1");
        let headers = Forwarding {
            forwarded: Some(r#"for="[2001:db8:cafe::17]:4711";proto=https"#),
            x_forwarded_for: Some("203.0.113.9"),
            x_forwarded_proto: Some("http"),
        };
        let client = trusted.client(ip("::1"), headers);
        assert_eq!(client.addr, ip("2001:db8:cafe::17"));
        assert_eq!(client.https, Some(true));
        let v4 = Forwarding {
            forwarded: Some("for=192.0.2.60:1234;proto=http;by=203.0.113.43"),
            ..Forwarding::default()
        };
        let client = trusted.client(ip("::1"), v4);
        assert_eq!((client.addr, client.https), (ip("192.0.2.60"), Some(false)));
    }

    #[test]
    fn mapped_addresses_and_bad_entries() {
        let trusted = proxies("127.0.0.1");
        let mapped = ip("::ffff:127.0.0.1");
        assert_eq!(
            trusted.client(mapped, xff("192.0.2.1")).addr,
            ip("192.0.2.1")
        );
        assert!(TrustedProxies::parse_list("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse_list("proxy.example").is_err());
    }
}
