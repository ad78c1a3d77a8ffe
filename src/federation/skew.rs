//! The inbox's clock-skew window. The library refuses a signature whose `Date` or `(created)` is
//! more than an hour old, or whose `(expires)` has passed, but takes a time in the future as it
//! is, and skips a `Date` it cannot parse: a signature made with a clock set ahead could then be
//! replayed for as long as that. We refuse times more than [`SKEW`] ahead of ours (Mastodon allows
//! the same hour) and dates that do not parse.
//!
//! The system clock, not the app's: the library's own window uses it, and both must agree.

use actix_web::http::header::HeaderMap;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::{Error, Result};

/// How far ahead of ours a sender's clock may be.
pub const SKEW: TimeDelta = TimeDelta::hours(1);

/// Refuses a request whose `Date` header or signature `created` parameter lies more than
/// [`SKEW`] in the future, or whose `Date` is not an HTTP date.
pub fn check(headers: &HeaderMap, now: DateTime<Utc>) -> Result<()> {
    let too_far = |t: DateTime<Utc>, what: &str| {
        if t > now + SKEW {
            Err(Error::Unauthorized(format!(
                "the {what} is {} minutes ahead of our clock; more than {} is refused",
                (t - now).num_minutes(),
                SKEW.num_minutes()
            )))
        } else {
            Ok(())
        }
    };
    if let Some(date) = headers.get("date") {
        let parsed = date
            .to_str()
            .ok()
            .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
            .ok_or_else(|| Error::Unauthorized("the Date header is not an HTTP date".to_owned()))?;
        too_far(parsed.with_timezone(&Utc), "Date header")?;
    }
    let created = headers
        .get("signature")
        .and_then(|s| s.to_str().ok())
        .and_then(created_param);
    if let Some(created) = created {
        let at = DateTime::from_timestamp(created, 0)
            .ok_or_else(|| Error::Unauthorized("the signature's created is out of range".into()))?;
        too_far(at, "signature's created time")?;
    }
    Ok(())
}

/// The `created` parameter of a draft-cavage `Signature` header, quoted or not.
fn created_param(signature: &str) -> Option<i64> {
    signature.split(',').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        (key.trim() == "created").then(|| value.trim().trim_matches('"').parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn dates_and_created_within_the_window_pass_and_beyond_it_fail() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let date = |t: DateTime<Utc>| ("date", t.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
        let created = |t: DateTime<Utc>| {
            (
                "signature",
                format!(r#"keyId="k",created={},signature="x""#, t.timestamp()),
            )
        };
        let ok = [
            date(now),
            date(now - TimeDelta::hours(5)),
            date(now + TimeDelta::minutes(59)),
        ];
        for h in ok {
            assert!(
                check(&headers(std::slice::from_ref(&h)), now).is_ok(),
                "{h:?}"
            );
        }
        assert!(check(&headers(&[created(now + TimeDelta::minutes(30))]), now).is_ok());
        let late = check(&headers(&[date(now + TimeDelta::hours(2))]), now).unwrap_err();
        assert!(late.to_string().contains("120 minutes ahead"), "{late}");
        assert!(check(&headers(&[created(now + TimeDelta::hours(3))]), now).is_err());
        assert!(check(&headers(&[("date", "yesterday".into())]), now).is_err());
        assert!(
            check(&HeaderMap::new(), now).is_ok(),
            "the library requires what it needs"
        );
    }

    #[test]
    fn the_created_parameter_is_found_quoted_or_not() {
        assert_eq!(
            created_param(r#"keyId="a",created=1700000000,headers="x""#),
            Some(1_700_000_000)
        );
        assert_eq!(
            created_param(r#"created="1700000000""#),
            Some(1_700_000_000)
        );
        assert_eq!(created_param(r#"keyId="created=5""#), None);
    }
}
