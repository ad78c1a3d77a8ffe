//! Account rules: user names, password hashes and YP token secrets.

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};
use rand::{Rng, distributions::Alphanumeric};
use sha2::{Digest, Sha256};

use chrono::NaiveDateTime;

use crate::{
    db::{
        DbConn,
        models::{TokenOwner, User, YpToken},
    },
    error::{Error, Result},
};

/// A validated account name: 1–32 of `a-z`, `0-9`, `_`, `-`, `.`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    /// Lower-cases and checks a name typed by an admin.
    pub fn parse(raw: &str) -> Result<Self> {
        let name = raw.trim().to_ascii_lowercase();
        let ok_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        let ok_start = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if name.len() > 32 || !ok_chars || !ok_start {
            return Err(Error::Invalid(format!(
                "user name {raw:?} is not valid: use 1-32 of a-z, 0-9, '_', '-', '.', starting with a letter or digit"
            )));
        }
        Ok(Self(name))
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A random string of `len` letters and digits (URL-safe, no escaping needed anywhere).
pub fn random_alphanumeric(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A password for accounts created without one: 20 letters and digits, about 119 bits.
pub fn generate_password() -> String {
    random_alphanumeric(20)
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::PasswordHash)
}

/// True when `password` matches the stored PHC string.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A fresh YP token: 43 letters and digits (about 256 bits), safe in a URL path.
pub fn generate_token() -> String {
    random_alphanumeric(43)
}

/// What the database stores of a token. A plain SHA-256 is enough for 256 random bits (no
/// dictionary to protect against) and keeps the lookup on every YP request to one index probe.
pub fn token_hash(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(token.as_bytes());
    // Once per YP request: one allocation rather than one per byte.
    let mut hex = String::with_capacity(2 * digest.len());
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 15)]));
    }
    hex
}

/// The account a YP token (by its hash) speaks for, if the token works: not revoked, its account
/// not disabled. Also notes the token's use (at most once a minute).
pub fn token_owner(conn: &mut DbConn, hash: &str, now: NaiveDateTime) -> Result<TokenOwner> {
    let owner = YpToken::find_owner(conn, hash)?.ok_or(Error::UnknownToken)?;
    YpToken::touch_last_used(conn, &owner, now)?;
    Ok(owner)
}

/// Creates an account with a hashed password.
pub fn create_user(
    conn: &mut DbConn,
    name: &UserName,
    password: &str,
    is_admin: bool,
    now: NaiveDateTime,
) -> Result<User> {
    if password.chars().count() < 8 {
        return Err(Error::Invalid(
            "password must be at least 8 characters".to_owned(),
        ));
    }
    User::insert(
        conn,
        name.as_str(),
        &hash_password(password)?,
        is_admin,
        now,
    )
}

/// Creates a YP token for `user_id`; returns the row and the secret, which exists nowhere else.
pub fn create_token(
    conn: &mut DbConn,
    user_id: i64,
    label: &str,
    now: NaiveDateTime,
) -> Result<(YpToken, String)> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(Error::Invalid(
            "token label must be 1-100 characters".to_owned(),
        ));
    }
    let secret = generate_token();
    let token = YpToken::insert(conn, user_id, label, &token_hash(&secret), now)?;
    Ok((token, secret))
}

/// A new account, with the password given or, with none, a generated one, returned so that it
/// can be shown once. The one way the admin page and the CLI make an account.
pub fn new_account(
    conn: &mut DbConn,
    name: &UserName,
    password: Option<String>,
    is_admin: bool,
    now: NaiveDateTime,
) -> Result<(User, Option<String>)> {
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => (generate_password(), true),
    };
    let user = create_user(conn, name, &password, is_admin, now)?;
    Ok((user, generated.then_some(password)))
}

/// A new YP URL for `user`, unless the account is disabled (its tokens would not work). The one
/// way the dashboard and the CLI make one; the secret is in the answer and nowhere else.
pub fn new_token(
    conn: &mut DbConn,
    user: &User,
    label: &str,
    now: NaiveDateTime,
) -> Result<(YpToken, String)> {
    if user.disabled_at.is_some() {
        return Err(Error::Conflict(format!(
            "user {} is disabled; its tokens would not work",
            user.name
        )));
    }
    create_token(conn, user.id, label, now)
}

/// Revokes token `id`. A broadcaster (`owner`) reaches only their own: another account's is "not
/// found", as if it did not exist; the operator (`None`) reaches all. False when it was revoked
/// already.
pub fn revoke_token(
    conn: &mut DbConn,
    id: i64,
    owner: Option<i64>,
    now: NaiveDateTime,
) -> Result<bool> {
    if let Some(owner) = owner
        && !YpToken::list_for_user(conn, owner)?
            .iter()
            .any(|t| t.id == id)
    {
        return Err(Error::NotFound(format!("token {id}")));
    }
    YpToken::revoke(conn, id, now)
}

/// Disables the account `name`: its YP URLs and sessions stop working at once. An admin (`by`)
/// cannot disable their own account this way (they would lock themselves out mid-page). False
/// when it was disabled already.
pub fn disable_user(
    conn: &mut DbConn,
    name: &str,
    by: Option<&User>,
    now: NaiveDateTime,
) -> Result<bool> {
    if by.is_some_and(|admin| admin.name == name) {
        return Err(Error::Invalid(
            "you cannot disable your own account here".to_owned(),
        ));
    }
    User::disable(conn, name, now)
}

#[cfg(test)]
mod tests {
    use super::{UserName, generate_token, hash_password, token_hash, verify_password};

    #[test]
    fn user_names() {
        assert_eq!(UserName::parse(" Alice ").unwrap().as_str(), "alice");
        for bad in ["", "-x", "a b", "é", &"x".repeat(33)] {
            assert!(UserName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_url_safe_and_hashed() {
        let t = generate_token();
        assert_eq!(t.len(), 43);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(generate_token(), t, "tokens are random");
    }
}
