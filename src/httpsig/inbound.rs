//! Reading an inbound draft-cavage HTTP signature: the `Signature` header, the signing string it
//! covers, its time window and the body's digest. Pure functions; [`super::verifier`] finds the
//! key and checks the signature itself.
//!
//! The rules are those real servers need: `rsa-sha256` or `hs2019` (or no algorithm), `Date` or
//! `(created)`/`(expires)`, `(request-target)`, `host` and, for a POST, `digest` covered; digest
//! names in any case. A time more than [`WINDOW`] old, or more than [`SKEW`] ahead of ours, is
//! refused, and so is a `Date` that does not parse. Every refusal is a 401 whose message says what
//! was wrong: strict peers (Fedify) retry with another scheme after a 4xx.

use actix_web::http::{Method, header::HeaderMap};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::{Error, Result};

/// How old a signature's `Date` or `(created)` may be.
pub const WINDOW: TimeDelta = TimeDelta::hours(1);

/// How far ahead of ours a sender's clock may be (Mastodon allows the same hour).
pub const SKEW: TimeDelta = TimeDelta::hours(1);

/// A parsed `Signature` header.
#[derive(Debug, Clone)]
pub struct SignatureHeader {
    pub key_id: Url,
    /// Lower-cased covered header names, in order.
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
}

fn refuse(why: impl Into<String>) -> Error {
    Error::Unauthorized(why.into())
}

impl SignatureHeader {
    /// Reads the signature of a request; RFC 9421 (`Signature-Input`) is named in the refusal so
    /// that the sender falls back to draft-cavage.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self> {
        let Some(value) = headers.get("signature") else {
            return Err(if headers.contains_key("signature-input") {
                refuse("RFC 9421 signatures are not verified here; sign with draft-cavage")
            } else {
                refuse("the request is not signed (no Signature header)")
            });
        };
        let value = value
            .to_str()
            .map_err(|_| refuse("the Signature header is not ASCII"))?;
        Self::parse(value)
    }

    /// Parses `keyId="…",algorithm="…",headers="…",signature="…"[,created=…,expires=…]`.
    pub fn parse(value: &str) -> Result<Self> {
        let (mut key_id, mut algorithm, mut headers, mut signature) = (None, None, None, None);
        let (mut created, mut expires) = (None, None);
        for (key, val) in params(value) {
            match key {
                "keyId" => key_id = Some(val),
                "algorithm" => algorithm = Some(val.to_ascii_lowercase()),
                "headers" => headers = Some(val),
                "signature" => signature = Some(val),
                "created" => created = Some(number(val, "created")?),
                "expires" => expires = Some(number(val, "expires")?),
                _ => {}
            }
        }
        if let Some(a) = algorithm.as_deref()
            && a != "rsa-sha256"
            && a != "hs2019"
        {
            return Err(refuse(format!(
                "signature algorithm {a:?} is not supported; use rsa-sha256 or hs2019"
            )));
        }
        let key_id = key_id.ok_or_else(|| refuse("the signature has no keyId"))?;
        let key_id =
            Url::parse(key_id).map_err(|e| refuse(format!("the keyId is not a URL: {e}")))?;
        let signature = BASE64
            .decode(signature.ok_or_else(|| refuse("the signature has no signature value"))?)
            .map_err(|_| refuse("the signature value is not base64"))?;
        let headers = headers
            .unwrap_or("date")
            .split_ascii_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        Ok(Self {
            key_id,
            headers,
            signature,
            created,
            expires,
        })
    }

    fn covers(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h == name)
    }

    /// The string the sender signed, rebuilt from this request, with `host` as the `host` line
    /// (the host the request was meant for, whatever a proxy made of the header). Refuses a
    /// signature that leaves out what must be covered.
    pub fn signing_string(
        &self,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        host: &str,
    ) -> Result<String> {
        for needed in ["(request-target)", "host"] {
            if !self.covers(needed) {
                return Err(refuse(format!("the signature must cover {needed}")));
            }
        }
        if !self.covers("date") && !self.covers("(created)") {
            return Err(refuse("the signature must cover date or (created)"));
        }
        if method == Method::POST && !self.covers("digest") {
            return Err(refuse("the signature of a POST must cover digest"));
        }
        let mut lines = Vec::with_capacity(self.headers.len());
        for name in &self.headers {
            let value = match name.as_str() {
                "(request-target)" => {
                    format!("{} {path_and_query}", method.as_str().to_ascii_lowercase())
                }
                "(created)" => self
                    .created
                    .ok_or_else(|| refuse("(created) is covered but has no value"))?
                    .to_string(),
                "(expires)" => self
                    .expires
                    .ok_or_else(|| refuse("(expires) is covered but has no value"))?
                    .to_string(),
                "host" => host.to_owned(),
                header => {
                    let values: Vec<&str> = headers
                        .get_all(header)
                        .filter_map(|v| v.to_str().ok())
                        .map(str::trim)
                        .collect();
                    if values.is_empty() {
                        return Err(refuse(format!("signed header {header} is missing")));
                    }
                    values.join(", ")
                }
            };
            lines.push(format!("{name}: {value}"));
        }
        Ok(lines.join("\n"))
    }

    /// Refuses a signature made too long ago, expired, or dated too far ahead of `now`.
    pub fn check_time(&self, headers: &HeaderMap, now: DateTime<Utc>) -> Result<()> {
        let mut times = Vec::new();
        if let Some(date) = headers.get("date") {
            let parsed = date
                .to_str()
                .ok()
                .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
                .ok_or_else(|| refuse("the Date header is not an HTTP date"))?;
            times.push(("Date", parsed.with_timezone(&Utc)));
        }
        if let Some(created) = self.created {
            let at = DateTime::from_timestamp(created, 0)
                .ok_or_else(|| refuse("the signature's created is out of range"))?;
            times.push(("created time", at));
        }
        for (what, t) in times {
            if t > now + SKEW {
                return Err(refuse(format!(
                    "the signature's {what} is {} minutes ahead of our clock; more than {} is refused",
                    (t - now).num_minutes(),
                    SKEW.num_minutes()
                )));
            }
            if t < now - WINDOW {
                return Err(refuse(format!(
                    "the signature's {what} is {} minutes old; more than {} is refused",
                    (now - t).num_minutes(),
                    WINDOW.num_minutes()
                )));
            }
        }
        if let Some(expires) = self.expires
            && expires < now.timestamp()
        {
            return Err(refuse("the signature has expired"));
        }
        Ok(())
    }
}

/// Checks the `Digest` header against the body: SHA-256, the name in any case.
pub fn check_digest(headers: &HeaderMap, body: &[u8]) -> Result<()> {
    let header = headers
        .get("digest")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| refuse("the request has no Digest header"))?;
    let ours = BASE64.encode(Sha256::digest(body));
    let mut any_sha256 = false;
    for part in header.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            continue;
        };
        if name.eq_ignore_ascii_case("sha-256") {
            any_sha256 = true;
            if value.trim() != ours {
                return Err(refuse("the Digest does not match the body"));
            }
        }
    }
    if any_sha256 {
        Ok(())
    } else {
        Err(refuse("the Digest header has no SHA-256 value"))
    }
}

/// `key="value"` or `key=value` pairs; commas inside quotes stay in the value.
fn params(value: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let (val, next) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((v, n)) => (v, n),
                None => (quoted, ""),
            },
            None => after.split_once(',').unwrap_or((after, "")),
        };
        out.push((key.trim(), val));
        rest = next.trim_start_matches([',', ' ']);
    }
    out
}

fn number(value: &str, what: &str) -> Result<i64> {
    value
        .parse()
        .map_err(|_| refuse(format!("the signature's {what} is not a number")))
}

#[cfg(test)]
mod tests;
