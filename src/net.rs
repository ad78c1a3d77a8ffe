//! Outgoing HTTP to addresses remote servers name (inboxes, catalog origins) must not reach
//! this machine or its private network: a name that resolves only to loopback, private,
//! link-local or similar addresses is refused at resolution, not merely by its spelling.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::streams::listen_url::is_private_ip;

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

/// A client builder that, unless private networks are allowed, resolves through [`PublicOnly`].
pub fn client(allow_private: bool) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("onair/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none());
    if allow_private {
        builder
    } else {
        builder.dns_resolver(PublicOnly)
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
}
