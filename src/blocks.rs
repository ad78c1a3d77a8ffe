//! Whom we federate with: blocked domains and actors, and the allow-list mode. A block applies to
//! everything: the inbox answers 403 before fetching anything, nothing is delivered, and making
//! one removes that domain's followers, catalog entries, subscriptions and pending deliveries.
//!
//! The table is read into memory and read again when the copy is older than [`RELOAD`], so a
//! check costs no query and a block made by the command line (another process) takes effect
//! everywhere within that time.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::NaiveDateTime;
use url::Url;

use crate::{
    db::{
        Db, DbConn,
        models::{Block, BlockKind, Delivery, Follower, RemoteStream, Subscription},
    },
    error::{Error, Result},
};

/// How stale the in-memory copy of the blocks may get.
pub const RELOAD: Duration = Duration::from_secs(5);

/// The blocks at one moment, with the allow-list.
#[derive(Debug, Default)]
pub struct Snapshot {
    domains: Vec<String>,
    actors: HashSet<String>,
    allowed: Arc<Vec<String>>,
}

/// Whether `pattern` names the URL's host: a domain covers its subdomains and every port; with
/// a port (`host:port`) it names that one authority only.
fn covers(pattern: &str, url: &Url) -> bool {
    match url.host_str() {
        Some(host) => covers_host(pattern, host, url.port_or_known_default()),
        None => false,
    }
}

/// [`covers`] for a host and port. The host is compared without case and without a trailing
/// dot (`spam.example.` is `spam.example` to DNS, so it must be to blocks too); a stored
/// authority without a port matches a pattern's 80 or 443.
fn covers_host(pattern: &str, host: &str, port: Option<u16>) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Some((h, p)) = pattern.rsplit_once(':') {
        let port_matches = match port {
            Some(port) => p == port.to_string(),
            None => p == "80" || p == "443",
        };
        return h == host && port_matches;
    }
    host == pattern
        || host
            .strip_suffix(pattern)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Splits a stored `host[:port]`.
fn authority_parts(authority: &str) -> (&str, Option<u16>) {
    match authority.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h, p.parse().ok()),
        _ => (authority, None),
    }
}

impl Snapshot {
    /// Why `url` (an actor, key or inbox) is refused, if it is.
    pub fn refusal(&self, url: &Url) -> Option<String> {
        if !self.allowed.is_empty() && !self.allowed.iter().any(|d| covers(d, url)) {
            return Some(format!(
                "{} is not on this instance's allow-list",
                url.host_str().unwrap_or("?")
            ));
        }
        if let Some(d) = self.domains.iter().find(|d| covers(d, url)) {
            return Some(format!("the domain {d} is blocked here"));
        }
        let mut actor = url.clone();
        actor.set_fragment(None);
        self.actors
            .contains(actor.as_str())
            .then(|| format!("{actor} is blocked here"))
    }
}

/// The blocks of this instance, cached.
#[derive(Debug)]
pub struct Blocklist {
    db: Db,
    allowed: Arc<Vec<String>>,
    current: Mutex<(Option<Instant>, Arc<Snapshot>)>,
}

impl Blocklist {
    /// Blocks from `db`; `allowed` non-empty turns the allow-list mode on.
    pub fn new(db: Db, allowed: Vec<String>) -> Self {
        Self {
            db,
            allowed: Arc::new(allowed),
            current: Mutex::new((None, Arc::default())),
        }
    }

    /// The current blocks (read again when older than [`RELOAD`]).
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>> {
        {
            let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
            if current.0.is_some_and(|t| t.elapsed() < RELOAD) {
                return Ok(current.1.clone());
            }
        }
        let rows = self.db.read(Block::list).await?;
        let mut snapshot = Snapshot {
            allowed: self.allowed.clone(),
            ..Snapshot::default()
        };
        for b in rows {
            match b.kind.as_str() {
                "domain" => snapshot.domains.push(b.value),
                _ => {
                    snapshot.actors.insert(b.value);
                }
            }
        }
        let snapshot = Arc::new(snapshot);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) =
            (Some(Instant::now()), snapshot.clone());
        Ok(snapshot)
    }

    /// Refuses `url` with a 403 when it is blocked.
    pub async fn check(&self, url: &Url) -> Result<()> {
        match self.snapshot().await?.refusal(url) {
            Some(why) => Err(Error::Forbidden(why)),
            None => Ok(()),
        }
    }

    /// Forgets the copy (this process just changed the blocks).
    pub fn invalidate(&self) {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).0 = None;
    }
}

/// What a block names, parsed: a domain (`example.com`, or `host:port`) or an actor URL.
pub fn parse(input: &str) -> Result<(BlockKind, String)> {
    let input = input.trim();
    if input.starts_with("http://") || input.starts_with("https://") {
        let mut url = Url::parse(input)
            .map_err(|e| Error::Invalid(format!("{input:?} is not a URL: {e}")))?;
        url.set_fragment(None);
        return Ok((BlockKind::Actor, url.into()));
    }
    let domain = input.trim_end_matches('.').to_ascii_lowercase();
    let valid = !domain.is_empty()
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    if !valid {
        return Err(Error::Invalid(format!(
            "{input:?}: give a domain (example.com, or host:port) or an actor URL"
        )));
    }
    Ok((BlockKind::Domain, domain))
}

/// Blocks a domain or actor and removes what we hold of it: followers, catalog entries,
/// subscriptions, pending deliveries. One transaction. Returns false when it was blocked already.
pub fn block(conn: &mut DbConn, kind: BlockKind, value: &str, now: NaiveDateTime) -> Result<bool> {
    let added = Block::insert(conn, kind, value, now)?;
    let snapshot = match kind {
        BlockKind::Domain => Snapshot {
            domains: vec![value.to_owned()],
            ..Snapshot::default()
        },
        BlockKind::Actor => Snapshot {
            actors: HashSet::from([value.to_owned()]),
            ..Snapshot::default()
        },
    };
    let blocked = |s: &str| Url::parse(s).is_ok_and(|u| snapshot.refusal(&u).is_some());
    let followers: Vec<i64> = Follower::all_actor_ids(conn)?
        .into_iter()
        .filter(|(_, actor)| blocked(actor))
        .map(|(id, _)| id)
        .collect();
    Follower::delete_ids(conn, &followers)?;
    for sub in Subscription::list(conn)? {
        if blocked(&sub.actor_id) {
            Subscription::delete(conn, &sub.actor_id)?;
            RemoteStream::delete(conn, &sub.actor_id)?;
        }
    }
    match kind {
        BlockKind::Domain => {
            let named = |authority: &str| {
                let (host, port) = authority_parts(authority);
                covers_host(value, host, port)
            };
            for host in Delivery::pending_hosts(conn)? {
                if named(&host) {
                    Delivery::fail_host(conn, &host, "blocked", now)?;
                }
            }
            for host in RemoteStream::hosts(conn)? {
                if named(&host) {
                    RemoteStream::delete_on_host(conn, &host)?;
                }
            }
        }
        BlockKind::Actor => {
            RemoteStream::delete(conn, value)?;
        }
    }
    Ok(added)
}

/// A block made, as the front ends report it.
#[derive(Debug)]
pub struct Added {
    pub kind: BlockKind,
    pub value: String,
    /// False when it was blocked already.
    pub new: bool,
}

/// Blocks what `target` names (see [`parse`]) in one transaction ([`block`]), then makes this
/// process see it at once. The one way every front end blocks.
pub async fn add(list: &Blocklist, target: &str, now: NaiveDateTime) -> Result<Added> {
    let (kind, value) = parse(target)?;
    let stored = value.clone();
    let new = list.db.write(move |c| block(c, kind, &stored, now)).await?;
    list.invalidate();
    Ok(Added { kind, value, new })
}

/// Lifts the block `target` names (what it removed stays removed). Returns the parsed value, and
/// false when nothing was blocked under it.
pub async fn remove(list: &Blocklist, target: &str) -> Result<(String, bool)> {
    let (kind, value) = parse(target)?;
    let stored = value.clone();
    let removed = list
        .db
        .write(move |c| Block::delete(c, kind, &stored))
        .await?;
    if removed {
        list.invalidate();
    }
    Ok((value, removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn domains_cover_subdomains_and_ports_narrow_them() {
        assert!(covers("example.com", &url("https://example.com/u/a")));
        assert!(covers("example.com", &url("https://radio.example.com/u/a")));
        assert!(!covers("example.com", &url("https://badexample.com/u/a")));
        assert!(covers(
            "localhost:8001",
            &url("http://localhost:8001/actor")
        ));
        assert!(!covers(
            "localhost:8001",
            &url("http://localhost:8002/actor")
        ));
        assert!(covers("localhost", &url("http://localhost:8002/actor")));
        assert!(
            covers("spam.example", &url("https://spam.example./u/x")),
            "trailing dot"
        );
        assert!(covers(
            "spam.example",
            &url("https://Radio.SPAM.example/u/x")
        ));
        assert!(covers_host("radio.example:443", "radio.example", None));
        assert!(!covers_host("radio.example:8443", "radio.example", None));
        assert_eq!(authority_parts("localhost:8001"), ("localhost", Some(8001)));
    }

    #[test]
    fn snapshots_refuse_blocked_and_unlisted() {
        let s = Snapshot {
            domains: vec!["spam.example".into()],
            actors: HashSet::from(["https://ok.example/u/troll".to_owned()]),
            allowed: Arc::default(),
        };
        assert!(s.refusal(&url("https://a.spam.example/x")).is_some());
        assert!(
            s.refusal(&url("https://ok.example/u/troll#main-key"))
                .is_some()
        );
        assert!(s.refusal(&url("https://ok.example/u/friend")).is_none());
        let allow = Snapshot {
            allowed: Arc::new(vec!["friends.example".into()]),
            ..Snapshot::default()
        };
        assert!(allow.refusal(&url("https://friends.example/u/a")).is_none());
        let why = allow.refusal(&url("https://other.example/u/a")).unwrap();
        assert!(why.contains("allow-list"), "{why}");
    }

    #[test]
    fn block_targets_parse() {
        assert_eq!(
            parse(" Spam.Example. ").unwrap(),
            (BlockKind::Domain, "spam.example".into())
        );
        assert_eq!(
            parse("https://a.example/u/x#main-key").unwrap(),
            (BlockKind::Actor, "https://a.example/u/x".into())
        );
        assert!(parse("bad domain").is_err());
        assert!(parse("").is_err());
    }
}
