//! Signing in: password checks (bounded in number, even in timing), sessions behind an HttpOnly
//! cookie whose secret is stored only as a hash, a CSRF token per session, and a limit on failed
//! attempts per name and address.

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use chrono::{NaiveDateTime, TimeDelta};

use crate::{
    accounts,
    db::{
        Db,
        models::{Session, User},
    },
    error::Result,
};

/// The session cookie.
pub const SESSION_COOKIE: &str = "onair_session";
/// The sign-in form's own CSRF cookie (there is no session yet to hold the token).
pub const LOGIN_COOKIE: &str = "onair_login";
/// How long a session lasts.
pub const SESSION_LIFETIME: TimeDelta = TimeDelta::days(14);

/// Password checks at once: argon2 is tens of milliseconds of CPU and ~19 MiB by design, so a
/// flood of guesses waits here instead of starving the blocking pool the database shares.
static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Checked when the name is unknown, so that the answer takes as long as for a known one.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| accounts::hash_password("not a password").unwrap_or_default());

/// The enabled account `name` when `password` is its password.
pub async fn check_password(db: &Db, name: &str, password: &str) -> Result<Option<User>> {
    let key = name.to_owned();
    let user = db
        .read(move |c| User::find_by_name(c, &key))
        .await?
        .filter(|u| u.disabled_at.is_none());
    let hash = user
        .as_ref()
        .map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let password = password.to_owned();
    let _turn = CHECKS.acquire().await.ok();
    let valid =
        tokio::task::spawn_blocking(move || accounts::verify_password(&password, &hash)).await?;
    Ok(user.filter(|_| valid))
}

/// Starts a session; returns the cookie's secret and the session's CSRF token.
pub async fn start(db: &Db, user_id: i64, now: NaiveDateTime) -> Result<(String, String)> {
    let secret = accounts::random_alphanumeric(43);
    let csrf = accounts::random_alphanumeric(32);
    let (hash, token) = (accounts::token_hash(&secret), csrf.clone());
    db.write(move |c| {
        Session::delete_expired(c, now)?;
        Session::insert(c, &hash, user_id, &token, now, now + SESSION_LIFETIME)
    })
    .await?;
    Ok((secret, csrf))
}

/// The session a cookie's secret opens, with its account.
pub async fn find(db: &Db, secret: &str, now: NaiveDateTime) -> Result<Option<(Session, User)>> {
    let hash = accounts::token_hash(secret);
    db.read(move |c| Session::find_valid(c, &hash, now)).await
}

/// Ends the session a cookie's secret opens.
pub async fn end(db: &Db, secret: &str) -> Result<()> {
    let hash = accounts::token_hash(secret);
    db.write(move |c| Session::delete(c, &hash)).await
}

/// Whether two tokens are equal, in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Failed sign-ins allowed per key (name, and address) in [`WINDOW`].
const FAILURES: u32 = 5;
/// How long failures are remembered.
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failed sign-ins per name and per address, in memory (per process: several processes each
/// allow as many; a restart forgets).
#[derive(Debug, Default)]
pub struct Attempts {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Attempts {
    /// Whether another try is allowed for every one of `keys`.
    pub fn allowed(&self, keys: &[&str]) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, first)| first.elapsed() < WINDOW);
        keys.iter()
            .all(|k| map.get(*k).is_none_or(|(n, _)| *n < FAILURES))
    }

    /// Counts a failure against each key.
    pub fn failed(&self, keys: &[&str]) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            map.entry((*k).to_owned()).or_insert((0, Instant::now())).0 += 1;
        }
    }

    /// Clears a name's failures after it signed in.
    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole_and_attempts_are_limited() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd") && !same("abc", "ab"));
        let attempts = Attempts::default();
        for _ in 0..FAILURES {
            assert!(attempts.allowed(&["name:alice", "ip:1"]));
            attempts.failed(&["name:alice", "ip:1"]);
        }
        assert!(
            !attempts.allowed(&["name:alice", "ip:2"]),
            "the name is limited"
        );
        assert!(
            !attempts.allowed(&["name:bob", "ip:1"]),
            "so is the address"
        );
        attempts.succeeded("name:alice");
        assert!(attempts.allowed(&["name:alice", "ip:2"]));
    }
}
