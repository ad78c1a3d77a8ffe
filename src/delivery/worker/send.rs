//! One request: the POST of a signed activity to an inbox, and what its answer means.

use std::sync::Arc;

use chrono::NaiveDateTime;
use reqwest::StatusCode;
use url::Url;

use super::{
    Worker,
    prepare::{Prepared, Signed},
};
use crate::{
    db::models::Delivery,
    error::{Error, Result},
};

/// How an attempt ended.
#[derive(Debug)]
pub(super) enum Outcome {
    Delivered,
    /// 410: the inbox is gone for good; its followers go too.
    Gone,
    Final(String),
    Retry(String),
    /// Not attempted: the host's breaker is open until then.
    Deferred(NaiveDateTime),
}

impl Worker {
    pub(super) async fn attempt(
        &self,
        delivery: &Delivery,
        activity: &Arc<Prepared>,
        headers: Option<Signed>,
    ) -> Outcome {
        match self.send(delivery, activity, headers).await {
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
        &self,
        delivery: &Delivery,
        activity: &Arc<Prepared>,
        headers: Option<Signed>,
    ) -> Result<StatusCode> {
        let inbox =
            Url::parse(&delivery.inbox).map_err(|e| Error::Invalid(format!("bad inbox: {e}")))?;
        if !self.limits.allow_private && crate::net::is_local(&inbox) {
            return Err(Error::Invalid(
                "inbox on a local or private address".to_owned(),
            ));
        }
        let headers = headers
            .ok_or_else(|| Error::Keys("not signed".to_owned()))?
            .map_err(Error::Keys)?;
        let response = self
            .client
            .post(inbox)
            .header("content-type", "application/activity+json")
            .header("host", headers.host)
            .header("date", headers.date)
            .header("digest", headers.digest)
            .header("signature", headers.signature)
            .body(activity.body.clone())
            .send()
            .await
            .map_err(|e| Error::Remote(format!("request failed: {e}")))?;
        Ok(response.status())
    }
}
