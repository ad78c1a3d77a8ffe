//! One request: the POST of a signed activity to an inbox, and what its answer means.

use std::sync::Arc;

use reqwest::StatusCode;
use url::Url;

use super::prepare::{Prepared, Signed};
use crate::{
    db::models::Delivery,
    error::{Error, Result},
};

/// The most of an inbox's answer read: enough for any error page, and reading it (rather than
/// dropping the connection) lets the connection serve the host's next delivery.
const MAX_ANSWER: usize = 16 * 1024;

/// How an attempt ended.
#[derive(Debug, Clone)]
pub(super) enum Outcome {
    Delivered,
    /// 410: the inbox is gone for good; its followers go too.
    Gone,
    Final(String),
    /// Worth another try later (no answer, 5xx, 408, 429): counts against the host's breaker.
    Retry(String),
    /// Not sent because of a fault of ours (the activity or its key unreadable, a panic): tried
    /// again later like a retry, but no mark against the host.
    Local(String),
}

impl Outcome {
    /// Whether the host answered, which closes its breaker.
    pub(super) fn answered(&self) -> bool {
        matches!(self, Self::Delivered | Self::Gone | Self::Final(_))
    }

    /// The name `/metrics` counts it under.
    pub(super) fn label(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Gone => "gone",
            Self::Final(_) => "failed",
            Self::Retry(_) | Self::Local(_) => "retry",
        }
    }
}

/// Sends `activity` to the delivery's inbox with its signed headers. The client's timeouts
/// (connect, and the whole exchange including the answer's body) bound how long this takes.
pub(super) async fn attempt(
    client: &reqwest::Client,
    allow_private: bool,
    delivery: &Delivery,
    activity: &Arc<Prepared>,
    headers: Signed,
) -> Outcome {
    match send(client, allow_private, delivery, activity, headers).await {
        Ok(status) if status.is_success() => Outcome::Delivered,
        Ok(StatusCode::GONE) => Outcome::Gone,
        Ok(status)
            if status.is_client_error()
                && status != StatusCode::REQUEST_TIMEOUT
                && status != StatusCode::TOO_MANY_REQUESTS =>
        {
            Outcome::Final(format!("HTTP {status}"))
        }
        Ok(status) => Outcome::Retry(format!("HTTP {status}")),
        Err(e) if matches!(e, Error::Invalid(_)) => Outcome::Final(e.to_string()),
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

async fn send(
    client: &reqwest::Client,
    allow_private: bool,
    delivery: &Delivery,
    activity: &Arc<Prepared>,
    headers: Signed,
) -> Result<StatusCode> {
    let inbox =
        Url::parse(&delivery.inbox).map_err(|e| Error::Invalid(format!("bad inbox: {e}")))?;
    if !allow_private && crate::net::is_local(&inbox) {
        return Err(Error::Invalid(
            "inbox on a local or private address".to_owned(),
        ));
    }
    let headers = headers.map_err(Error::Keys)?;
    let mut response = client
        .post(inbox)
        .header("content-type", "application/activity+json")
        .header("host", headers.host)
        .header("date", headers.date)
        .header("digest", headers.digest)
        .header("signature", headers.signature)
        .body(activity.body.clone())
        .send()
        .await
        .map_err(|e| Error::Remote(format!("request failed: {}", describe(&e))))?;
    let status = response.status();
    // A trickled answer is cut by the client's whole-request timeout like a slow one. The status
    // decides the outcome either way: an inbox that said 202 has the activity, however its body
    // ends, and must not be sent it again.
    let mut read = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len();
        if read > MAX_ANSWER {
            break;
        }
    }
    Ok(status)
}

/// "timed out", "could not connect", or the error itself: what an operator can act on.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        format!("could not connect ({e})")
    } else {
        e.to_string()
    }
}
