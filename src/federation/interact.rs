//! "Follow from your server": where a visitor's own server wants them sent to follow one of our
//! streams. Each server family spells it differently, so it is asked, not guessed: the
//! visitor's account's WebFinger (a FEP-3b86 `Follow` intent, else the OStatus subscribe
//! template that Mastodon, Pleroma/Akkoma and Misskey all publish), else the server's NodeInfo
//! (its software's known page), else Mastodon's `authorize_interaction`, the widest-understood.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::{
    error::{Error, Result},
    net,
};

/// The rels of a follow template, the intent first.
const FOLLOW_INTENT: &str = "https://w3id.org/fep/3b86/Follow";
const SUBSCRIBE: &str = "http://ostatus.org/schema/1.0/subscribe";

/// Largest WebFinger or NodeInfo answer read, and how long each may take.
const LIMIT: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

/// What the visitor typed: their server, or their whole address on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    /// `https://host`: where their server is asked (http, a port or a local address only when
    /// private networks are allowed: tests and home setups).
    pub base: Url,
    /// `user@host`, when they gave it.
    pub account: Option<String>,
}

impl Visitor {
    /// `mastodon.social`, `https://mastodon.social/`, `@alice@mastodon.social` or
    /// `alice@mastodon.social`; anything else is refused with what to type. Unless
    /// `allow_private`, the server must be a public name on the default port: an address
    /// (`127.0.0.1`, `169.254.169.254`) never reaches the resolver that refuses private ones.
    pub fn parse(raw: &str, allow_private: bool) -> Result<Self> {
        let allow_http = allow_private;
        let refuse = || {
            Error::Invalid(format!(
                "{raw:?} is not a server name; give it as mastodon.social or alice@mastodon.social"
            ))
        };
        let raw_trimmed = raw.trim();
        let (scheme, rest) = match raw_trimmed.split_once("://") {
            Some(("http", rest)) if allow_http => ("http", rest),
            Some(("https", rest)) => ("https", rest),
            Some(_) => return Err(refuse()),
            None => ("https", raw_trimmed),
        };
        let rest = rest.trim_start_matches('@').trim_end_matches('/');
        let (user, host) = match rest.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, rest),
        };
        let host = host.to_ascii_lowercase();
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && (host.contains('.') || allow_http)
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
        let user_ok = user.is_none_or(|u| {
            !u.is_empty()
                && u.len() <= 64
                && u.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        });
        if !host_ok || !user_ok {
            return Err(refuse());
        }
        let base = Url::parse(&format!("{scheme}://{host}/")).map_err(|_| refuse())?;
        let public_name = matches!(base.host(), Some(url::Host::Domain(_)))
            && base.port().is_none()
            && !net::is_local(&base);
        if !allow_private && !public_name {
            return Err(refuse());
        }
        Ok(Self {
            base,
            account: user.map(|u| format!("{u}@{host}")),
        })
    }

    /// Mastodon's page, the fallback.
    fn authorize_interaction(&self, ours: &str) -> Url {
        let mut url = self.page("authorize_interaction");
        url.query_pairs_mut().append_pair("uri", ours);
        url
    }

    fn page(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }
}

/// Where to send the visitor to follow `ours` (`handle@host`): their server's own follow page.
/// Never fails on their server's account: an answer that cannot be used falls back to the next
/// way, the last being `authorize_interaction`.
pub async fn follow_page(client: &reqwest::Client, visitor: &Visitor, ours: &str) -> Url {
    if let Some(account) = &visitor.account
        && let Some(url) = from_webfinger(client, visitor, account, ours).await
    {
        return url;
    }
    if let Some(url) = from_nodeinfo(client, visitor, ours).await {
        return url;
    }
    visitor.authorize_interaction(ours)
}

#[derive(Debug, Deserialize)]
struct Jrd {
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Debug, Deserialize)]
struct Link {
    rel: String,
    template: Option<String>,
    href: Option<String>,
}

/// The visitor's account's follow template, filled with ours.
async fn from_webfinger(
    client: &reqwest::Client,
    visitor: &Visitor,
    account: &str,
    ours: &str,
) -> Option<Url> {
    let mut url = visitor.page(".well-known/webfinger");
    url.query_pairs_mut()
        .append_pair("resource", &format!("acct:{account}"));
    let jrd: Jrd = get_json(client, url, "application/jrd+json").await?;
    [FOLLOW_INTENT, SUBSCRIBE].iter().find_map(|rel| {
        let template = jrd
            .links
            .iter()
            .find(|l| l.rel == *rel)?
            .template
            .as_ref()?;
        fill(template, ours, visitor)
    })
}

/// A template with `{uri}` (OStatus) or `{object}` (FEP-3b86) filled with ours, kept only when
/// it is a web page of the visitor's server: its scheme, no credentials, and its host or one
/// within the same domain (`example.com` answering for `social.example.com`, or the reverse).
/// Anything else would make our follow link a redirect to wherever a WebFinger answer says.
fn fill(template: &str, ours: &str, visitor: &Visitor) -> Option<Url> {
    let encoded: String = url::form_urlencoded::byte_serialize(ours.as_bytes()).collect();
    let filled = template
        .replace("{uri}", &encoded)
        .replace("{object}", &encoded);
    let url = Url::parse(&filled).ok()?;
    let scheme_ok = url.scheme() == "https" || url.scheme() == visitor.base.scheme();
    let (host, theirs) = (url.host_str()?, visitor.base.host_str()?);
    let related = host == theirs
        || host.ends_with(&format!(".{theirs}"))
        || theirs.ends_with(&format!(".{host}"));
    let plain = url.username().is_empty() && url.password().is_none();
    (scheme_ok && related && plain).then_some(url)
}

#[derive(Debug, Deserialize)]
struct NodeInfoLinks {
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Debug, Deserialize)]
struct NodeInfo {
    software: Software,
}

#[derive(Debug, Deserialize)]
struct Software {
    name: String,
}

/// The follow page of the visitor's server's software, from its NodeInfo.
async fn from_nodeinfo(client: &reqwest::Client, visitor: &Visitor, ours: &str) -> Option<Url> {
    let links: NodeInfoLinks = get_json(
        client,
        visitor.page(".well-known/nodeinfo"),
        "application/json",
    )
    .await?;
    let href = links
        .links
        .iter()
        .filter(|l| {
            l.rel
                .starts_with("http://nodeinfo.diaspora.software/ns/schema/2.")
        })
        .find_map(|l| l.href.as_deref())?;
    let href = Url::parse(href).ok()?;
    // Only the server the visitor named is asked (scheme, host and port), whatever its
    // document points at.
    if href.origin() != visitor.base.origin() {
        return None;
    }
    let info: NodeInfo = get_json(client, href, "application/json").await?;
    let (path, param) = match info.software.name.to_ascii_lowercase().as_str() {
        "misskey" | "sharkey" | "firefish" | "calckey" | "foundkey" | "iceshrimp"
        | "cherrypick" => ("authorize-follow", "acct"),
        "pleroma" | "akkoma" => ("ostatus_subscribe", "acct"),
        _ => ("authorize_interaction", "uri"),
    };
    let mut url = visitor.page(path);
    url.query_pairs_mut().append_pair(param, ours);
    Some(url)
}

async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: Url,
    accept: &str,
) -> Option<T> {
    let res = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, accept)
        .timeout(TIMEOUT)
        .send()
        .await
        .inspect_err(|e| tracing::debug!(%url, error = %e, "follow page: no answer"))
        .ok()?;
    if !res.status().is_success() {
        return None;
    }
    let body = net::body_limited(res, LIMIT).await.ok()?;
    serde_json::from_slice(&body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitors_are_read_in_every_form_people_type() {
        for raw in [
            "mastodon.social",
            "https://mastodon.social/",
            "Mastodon.Social",
        ] {
            let v = Visitor::parse(raw, false).unwrap();
            assert_eq!(v.base.as_str(), "https://mastodon.social/", "{raw}");
            assert_eq!(v.account, None);
        }
        for raw in ["@alice@mastodon.social", "alice@mastodon.social"] {
            let v = Visitor::parse(raw, false).unwrap();
            assert_eq!(v.account.as_deref(), Some("alice@mastodon.social"), "{raw}");
        }
        for bad in [
            "",
            "localhost",
            "http://mastodon.social",
            "ftp://x.example",
            "a b.example",
            "al/ce@x.example",
            "127.0.0.1",
            "alice@169.254.169.254",
            "0x7f.1",
            "x@0177.0.0.1",
            "[::1]",
            "social.example:8443",
            "printer.local",
        ] {
            assert!(Visitor::parse(bad, false).is_err(), "{bad:?}");
        }
        let local = Visitor::parse("http://127.0.0.1:9/", true).unwrap();
        assert_eq!(local.base.as_str(), "http://127.0.0.1:9/");
    }

    #[test]
    fn templates_are_filled_and_kept_to_web_pages() {
        let v = Visitor::parse("alice@misskey.example", false).unwrap();
        let url = fill(
            "https://misskey.example/authorize-follow?acct={uri}",
            "jazz@onair.example",
            &v,
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://misskey.example/authorize-follow?acct=jazz%40onair.example"
        );
        let intent = fill(
            "https://misskey.example/follow?object={object}",
            "a@b.example",
            &v,
        );
        assert_eq!(
            intent.unwrap().as_str(),
            "https://misskey.example/follow?object=a%40b.example"
        );
        assert!(fill("javascript:alert({uri})", "a@b.example", &v).is_none());
        assert!(fill("https://evil.example/?u={uri}", "a@b.example", &v).is_none());
        assert!(fill("https://u:p@misskey.example/?u={uri}", "a@b.example", &v).is_none());
        let split = Visitor::parse("alice@example.com", false).unwrap();
        assert!(
            fill(
                "https://social.example.com/a?u={uri}",
                "a@b.example",
                &split
            )
            .is_some()
        );
        assert!(fill("http://x.example/?u={uri}", "a@b.example", &v).is_none());
    }
}
