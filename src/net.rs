//! Outgoing HTTP to addresses remote servers name (inboxes, catalog origins) must not reach
//! this machine or its private network: a name that resolves only to loopback, private,
//! link-local or similar addresses is refused at resolution, not merely by its spelling. The
//! address policy itself (what counts as local) is here too, for listen URLs and origins.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::{
    Certificate,
    dns::{Addrs, Name, Resolve, Resolving},
};
use url::{Host, Url};

/// A resolver that keeps public addresses only.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| !is_private_ip(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// A client builder that, unless private networks are allowed, resolves through [`PublicOnly`],
/// and trusts `extra_roots` beside the system's certificate authorities.
pub fn client(allow_private: bool, extra_roots: &[Certificate]) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("onair/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge(extra_roots.iter().cloned());
    if allow_private {
        builder
    } else {
        builder.dns_resolver(PublicOnly)
    }
}

/// The certificates of a PEM file of extra certificate authorities (`tls_ca_file`).
pub fn load_roots(path: Option<&std::path::Path>) -> Result<Vec<Certificate>, String> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let roots = Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("{}: not PEM certificates: {e}", path.display()))?;
    if roots.is_empty() {
        return Err(format!("{}: holds no certificate", path.display()));
    }
    Ok(roots)
}

/// A response's body, refused once it passes `limit` bytes (by its `Content-Length` or as it
/// arrives): a remote server decides what it sends, not how much of it we hold.
pub async fn body_limited(mut res: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let too_big = || format!("the answer is over {limit} bytes");
    if res
        .content_length()
        .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > limit))
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Suffixes that only resolve inside a home or office network.
const LOCAL_SUFFIXES: &[&str] = &[
    ".localhost",
    ".local",
    ".lan",
    ".internal",
    ".home.arpa",
    ".localdomain",
];

/// True when `url`'s host is loopback, private, link-local or a local-only name (judged by
/// spelling, without DNS).
pub fn is_local(url: &Url) -> bool {
    url.host().is_some_and(|h| is_private(&h))
}

fn is_private(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || !d.contains('.') || LOCAL_SUFFIXES.iter().any(|s| d.ends_with(s))
        }
        Host::Ipv4(ip) => private_v4(*ip),
        Host::Ipv6(ip) => private_v6(*ip),
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        // 100.64.0.0/10, carrier-grade NAT: not reachable from outside either.
        || (a == 100 && (64..128).contains(&b))
}

fn private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return private_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
}

/// True for addresses a public service must not be sent to (also used for peers later).
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => private_v6(v6),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::dns::Resolve;

    #[tokio::test]
    async fn names_of_private_addresses_are_not_resolved() {
        let refused = super::PublicOnly
            .resolve("localhost".parse().unwrap())
            .await;
        assert!(refused.is_err(), "localhost is loopback");
    }

    /// A stated length over the limit is refused before any of the body is read: here the
    /// server states 100,000 bytes, sends ten and stalls, and the answer comes at once.
    #[tokio::test]
    async fn a_stated_length_over_the_limit_is_refused_without_reading() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let _ = conn.read(&mut [0; 4096]);
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n0123456789");
            std::thread::sleep(std::time::Duration::from_secs(5));
        });
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap();
        let res = client.get(url).send().await.unwrap();
        let refused = super::body_limited(res, 1000).await.unwrap_err();
        assert!(refused.contains("over 1000 bytes"), "{refused}");
    }

    /// Serves `body` once on a local port; with `length`, says its size up front.
    fn serve_once(body: Vec<u8>, length: bool) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let _ = conn.read(&mut [0; 4096]);
            let head = match length {
                true => format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()),
                false => "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_owned(),
            };
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&body);
        });
        url
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused_with_or_without_a_length() {
        let client = reqwest::Client::new();
        for length in [true, false] {
            let small = client
                .get(serve_once(vec![b'a'; 1000], length))
                .send()
                .await
                .unwrap();
            assert_eq!(super::body_limited(small, 1000).await.unwrap().len(), 1000);
            let big = client
                .get(serve_once(vec![b'a'; 100_000], length))
                .send()
                .await
                .unwrap();
            let refused = super::body_limited(big, 1000).await.unwrap_err();
            assert!(refused.contains("over 1000 bytes"), "{refused}");
        }
    }
}
