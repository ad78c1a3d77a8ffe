//! The address listeners play a stream from, as Icecast reports it.

use url::Url;

use crate::{error::Error, net::is_local, text::clip};

/// A listen URL that is http(s), has a host, carries no credentials, and (unless private networks
/// are allowed) points at a public host. Stored in `url`'s normalised form, which is part of the
/// stream's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenUrl(Url);

impl ListenUrl {
    /// Checks a listen URL. Host names are judged by their spelling only: resolving them here would
    /// make every add wait on DNS.
    pub fn parse(raw: &str, allow_private: bool) -> Result<Self, Error> {
        let shown = clip(raw, 120);
        let url = Url::parse(raw)
            .ok()
            .filter(|u| {
                raw.len() <= 500 && matches!(u.scheme(), "http" | "https") && u.host().is_some()
            })
            .ok_or_else(|| Error::Invalid(format!("listen URL {shown:?} is not an http(s) URL")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::Invalid(
                "listen URL must not contain a user name or password".to_owned(),
            ));
        }
        if !allow_private && is_local(&url) {
            return Err(Error::Invalid(format!(
                "listen URL {shown} points at a local or private address listeners cannot reach: \
                 set <hostname> in icecast.xml to your server's public name (for a test on one \
                 machine, run onair with ONAIR_ALLOW_PRIVATE_NETWORKS=true)"
            )));
        }
        let mut url = url;
        url.set_fragment(None);
        Ok(Self(url))
    }

    /// The URL as stored and published.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The mount point without its leading slash (`live.ogg`).
    pub fn mount(&self) -> String {
        self.0.path().trim_start_matches('/').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::ListenUrl;

    #[test]
    fn public_urls_pass_and_are_normalised() {
        let u = ListenUrl::parse("HTTP://Radio.Example.org:8000/live.ogg#x", false).unwrap();
        assert_eq!(u.as_str(), "http://radio.example.org:8000/live.ogg");
        assert_eq!(u.mount(), "live.ogg");
        assert!(ListenUrl::parse("https://203.0.113.9/a", false).is_ok());
    }

    #[test]
    fn local_and_private_hosts_are_refused_unless_allowed() {
        for url in [
            "http://localhost:8000/live",
            "http://127.0.0.1:8000/live",
            "http://192.168.1.20:8000/live",
            "http://10.0.0.1/live",
            "http://172.16.5.5/live",
            "http://169.254.1.1/live",
            "http://100.64.0.1/live",
            "http://[::1]:8000/live",
            "http://[fd00::1]/live",
            "http://[fe80::1]/live",
            "http://[::ffff:192.168.0.1]/live",
            "http://myserver:8000/live",
            "http://radio.local/live",
            "http://0.0.0.0/live",
        ] {
            let err = ListenUrl::parse(url, false).unwrap_err().to_string();
            assert!(err.contains("<hostname>"), "{url}: {err}");
            assert!(ListenUrl::parse(url, true).is_ok(), "{url}");
        }
    }

    #[test]
    fn other_schemes_and_credentials_are_refused() {
        for url in [
            "ftp://radio.example/x",
            "radio.example/live",
            "",
            "http://u:p@radio.example/live",
        ] {
            assert!(ListenUrl::parse(url, true).is_err(), "{url}");
        }
    }
}
