//! Who is really asking: the reverse proxies whose forwarding header is believed, and the
//! client address read through them. Anyone can send `X-Forwarded-For`; only a
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

/// `10.0.0.0/8`, `::1` or `127.0.0.1` (a single address is its own /32 or /128). An
/// IPv4-mapped IPv6 address or network is its IPv4 form, as peers are compared.
fn network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    let net = text
        .parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an IP address or CIDR network"))?;
    Ok(match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .map_err(|e| e.to_string())?,
            None => net,
        },
        other => other,
    })
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

    /// The client address behind a request that arrived from `peer` carrying `chain`, the
    /// value (all its lines joined in order) of the one forwarding header the proxies set.
    pub fn client(&self, peer: IpAddr, header: ForwardedHeader, chain: Option<&str>) -> IpAddr {
        let peer = canonical(peer);
        let Some(chain) = chain.filter(|_| self.trusts(peer)) else {
            return peer;
        };
        let hops = match header {
            ForwardedHeader::XForwardedFor => x_forwarded_for(chain),
            ForwardedHeader::Forwarded => forwarded(chain),
        };
        // From the nearest hop outwards: the first address not ours to trust is the client. A
        // hop that is not an address (`unknown`, an obfuscated name) ends the walk there.
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = hop else { break };
            client = canonical(*ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The header the trusted proxies write the client's address into (`forwarded_header`). Only
/// that one is read: a proxy passes the other through as the client wrote it (nginx and Caddy
/// append to `X-Forwarded-For` and leave a client's `Forwarded` alone), so believing both would
/// let a client choose its own address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …` (nginx, Caddy, HAProxy).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=…`.
    Forwarded,
}

impl ForwardedHeader {
    /// The header's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }

    /// `x-forwarded-for` or `forwarded` (`ONAIR_FORWARDED_HEADER`).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!("{other:?}: expected x-forwarded-for or forwarded")),
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

/// `X-Forwarded-For: client, proxy1, proxy2`; entries that are not addresses are `None`.
fn x_forwarded_for(value: &str) -> Vec<Option<IpAddr>> {
    value.split(',').map(|s| node(s.trim())).collect()
}

/// RFC 7239: `for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"`: the `for` chain. An
/// element without `for` is a hop nobody named.
fn forwarded(value: &str) -> Vec<Option<IpAddr>> {
    value
        .split(',')
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (key, val) = pair.trim().split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| node(val.trim().trim_matches('"')))?
            })
        })
        .collect()
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

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;

    #[test]
    fn only_trusted_peers_are_believed() {
        let trusted = proxies("127.0.0.1, 10.0.0.0/8");
        let spoof = Some("203.0.113.9");
        assert_eq!(
            trusted.client(ip("198.51.100.7"), XFF, spoof),
            ip("198.51.100.7")
        );
        assert_eq!(
            trusted.client(ip("127.0.0.1"), XFF, spoof),
            ip("203.0.113.9")
        );
        assert_eq!(
            proxies("").client(ip("127.0.0.1"), XFF, spoof),
            ip("127.0.0.1")
        );
        assert_eq!(trusted.client(ip("127.0.0.1"), XFF, None), ip("127.0.0.1"));
    }

    #[test]
    fn the_chain_is_walked_from_the_nearest_hop() {
        let trusted = proxies("127.0.0.1,10.0.0.0/8");
        let at = |chain| trusted.client(ip("127.0.0.1"), XFF, Some(chain));
        // The client wrote the first entry itself; nginx appended the address it saw.
        assert_eq!(at("1.2.3.4, 198.51.100.7, 10.1.2.3"), ip("198.51.100.7"));
        // Every hop trusted: the outermost one is as far as anyone can tell.
        assert_eq!(at("10.0.0.5, 10.1.2.3"), ip("10.0.0.5"));
        // Garbage ends the walk where it stands.
        assert_eq!(at("198.51.100.7, nonsense"), ip("127.0.0.1"));
    }

    #[test]
    fn forwarded_carries_ports_brackets_and_unnamed_hops() {
        let trusted = proxies("::1, 203.0.113.43");
        let at = |chain| trusted.client(ip("::1"), ForwardedHeader::Forwarded, Some(chain));
        assert_eq!(
            at(r#"for="[2001:db8:cafe::17]:4711";proto=https"#),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            at("for=192.0.2.60:1234;proto=http, for=203.0.113.43"),
            ip("192.0.2.60")
        );
        // A hop without `for` is nobody we can name: the walk stops at the proxy.
        assert_eq!(at("proto=https"), ip("::1"));
    }

    #[test]
    fn mapped_addresses_and_bad_entries() {
        let trusted = proxies("127.0.0.1");
        let mapped = ip("::ffff:127.0.0.1");
        assert_eq!(
            trusted.client(mapped, XFF, Some("192.0.2.1")),
            ip("192.0.2.1")
        );
        // A mapped address in the setting is the IPv4 address too.
        let from_log = proxies("::ffff:10.0.0.1");
        assert_eq!(
            from_log.client(ip("10.0.0.1"), XFF, Some("192.0.2.1")),
            ip("192.0.2.1")
        );
        assert!(TrustedProxies::parse_list("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse_list("proxy.example").is_err());
        assert!(ForwardedHeader::parse("x-real-ip").is_err());
    }
}
