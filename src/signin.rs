//! Signing in: password checks (bounded in number, even in timing), sessions behind an HttpOnly
//! cookie whose secret is stored only as a hash, a CSRF token per session, and a limit on failed
//! attempts per name and per client address, counted in the database.

use std::{net::IpAddr, sync::LazyLock};

use chrono::{NaiveDateTime, TimeDelta};

use crate::{
    accounts::{self, UserName},
    db::{
        Db,
        models::{Session, SigninFailures, User},
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

/// The enabled account `name` when `password` is its password (no limits: see [`attempt`]).
async fn check_password(db: &Db, name: &str, password: &str) -> Result<Option<User>> {
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

/// Failed sign-ins allowed per account name in [`WINDOW`].
const NAME_FAILURES: i32 = 5;
/// Failed sign-ins allowed per client address in [`WINDOW`]: more than per name, since an
/// office or a carrier's NAT puts many people behind one address.
const ADDRESS_FAILURES: i32 = 20;
/// How long failures are remembered.
pub const WINDOW: TimeDelta = TimeDelta::minutes(15);

/// What a sign-in attempt came to.
#[derive(Debug)]
pub enum Attempt {
    /// The password is the account's.
    Valid(User),
    /// Unknown name, disabled account or wrong password (not told apart).
    Wrong,
    /// Too many failures lately for this name or address: not checked at all.
    Limited,
}

/// Checks a sign-in (the form or the admin API's HTTP Basic) made from `client`. Each attempt
/// is counted in the database per name and per address before the password is checked (so a
/// burst sent at once cannot get more tries than the limit, in any number of processes); a
/// success takes its count back and clears the name's. A name that cannot be an account's
/// counts against the address only, so made-up names store nothing new.
///
/// Anyone who knows an account's name can keep it locked with five tries every quarter of an
/// hour: the price of the per-name limit, which is what stops a guesser with many addresses.
pub async fn attempt(
    db: &Db,
    name: &str,
    password: &str,
    client: IpAddr,
    now: NaiveDateTime,
) -> Result<Attempt> {
    let by_address = address_key(client);
    let account = UserName::parse(name).ok();
    let by_name = account.as_ref().map(|n| name_key(n.as_str()));
    let since = now - WINDOW;
    let keys: Vec<String> = by_name
        .iter()
        .cloned()
        .chain([by_address.clone()])
        .collect();
    let counts = db
        .write(move |c| SigninFailures::reserve(c, &keys, now, since))
        .await?;
    let (name_count, address_count) = match counts.as_slice() {
        [n, a] => (*n, *a),
        [a] => (0, *a),
        _ => (0, 0),
    };
    if name_count > NAME_FAILURES || address_count > ADDRESS_FAILURES {
        return Ok(Attempt::Limited);
    }
    let (Some(by_name), Some(account)) = (by_name, account) else {
        return Ok(Attempt::Wrong);
    };
    match check_password(db, account.as_str(), password).await? {
        Some(user) => {
            db.write(move |c| {
                SigninFailures::clear(c, &by_name)?;
                SigninFailures::take_back(c, &by_address)
            })
            .await?;
            Ok(Attempt::Valid(user))
        }
        None => Ok(Attempt::Wrong),
    }
}

/// Housekeeping: forgets failure windows that have ended.
pub async fn forget_old_failures(db: &Db, now: NaiveDateTime) -> Result<usize> {
    db.write(move |c| SigninFailures::forget_before(c, now - WINDOW))
        .await
}

fn name_key(name: &str) -> String {
    format!("name:{}", name.trim().to_ascii_lowercase())
}

/// An IPv6 client is counted by its /64: one subscriber usually holds a whole one.
fn address_key(client: IpAddr) -> String {
    match client {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole_and_addresses_are_keyed_by_network() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd") && !same("abc", "ab"));
        assert_eq!(name_key(" Alice "), "name:alice");
        assert_eq!(address_key("192.0.2.7".parse().unwrap()), "ip:192.0.2.7");
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            address_key("2001:db8:1:2:bbbb::9".parse().unwrap())
        );
    }
}
