//! The limits as HTTP sees them: deadlines for every request's body and answer
//! ([`deadlines`], around the whole app), and per-client rates on the routes that cost work
//! ([`public`], [`inbox`], put on those routes in the route table). The bookkeeping is
//! [`crate::guard`]; every refusal is an [`Error`] (429, 503 or 408 with a body saying why) and
//! is counted in `/metrics` as `onair_refused_requests_total{limit}`.

use std::{
    io,
    pin::Pin,
    rc::Rc,
    sync::atomic::{AtomicBool, Ordering},
    task::{Context, Poll},
    time::Duration,
};

use actix_web::{
    Error as ActixError, HttpMessage, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::PayloadError,
    http::header,
    middleware::Next,
    web,
};
use bytes::Bytes;
use futures_util::Stream;
use tokio::time::Sleep;

use crate::{error::Error, guard::rate::Limiter, state::AppState};

type Answer<B> = Result<ServiceResponse<EitherBody<B>>, ActixError>;

/// Every request: its body must arrive within `body_timeout` of the request's start, and its
/// handler answer within `handler_timeout` (an event stream's answer is its first bytes; the
/// stream itself is not timed).
pub async fn deadlines(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Answer<impl MessageBody> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let limits = &state.config.limits;
    let body_timeout = Duration::from_secs(limits.body_timeout.into());
    let late = Rc::new(AtomicBool::new(false));
    if has_body(&req) {
        let payload = req.take_payload();
        let timed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Deadline {
            inner: payload,
            timer: Box::pin(tokio::time::sleep(body_timeout)),
            seconds: limits.body_timeout,
            late: late.clone(),
            done: false,
        });
        req.set_payload(Payload::from(timed));
    }
    // Not a clone of the request: routing needs it unshared.
    let path = req.path().to_owned();
    let handler_timeout = Duration::from_secs(limits.handler_timeout.into());
    match tokio::time::timeout(handler_timeout, next.call(req)).await {
        // A handler that read a late body answers with its own error; say what happened.
        Ok(Ok(res)) if late.load(Ordering::Relaxed) && !res.status().is_success() => {
            state.metrics.refused("body_timeout");
            let refusal = Error::TooSlow(format!(
                "the request body did not arrive within {} s",
                limits.body_timeout
            ));
            let mut answer = refusal.error_response();
            // The rest of that body may still come: this connection is not reusable.
            answer
                .head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
            let (req, _) = res.into_parts();
            Ok(ServiceResponse::new(req, answer).map_into_right_body())
        }
        Ok(answered) => answered.map(ServiceResponse::map_into_left_body),
        Err(_) => {
            state.metrics.refused("handler_timeout");
            tracing::warn!(%path, "a request took longer than handler_timeout");
            // Without the request there is no ServiceResponse to make: the error becomes the
            // answer (actix renders it with `Error::error_response`).
            Err(Error::Overloaded(format!(
                "the answer took longer than {} s; try again later",
                limits.handler_timeout
            ))
            .into())
        }
    }
}

/// A request that says it carries a body.
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// A request body that ends in an error once its time is up.
struct Deadline {
    inner: Payload,
    timer: Pin<Box<Sleep>>,
    seconds: u32,
    late: Rc<AtomicBool>,
    done: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            self.done = item.is_none();
            return Poll::Ready(item);
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            self.done = true;
            self.late.store(true, Ordering::Relaxed);
            let message = format!("the request body did not arrive within {} s", self.seconds);
            return Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                message,
            )))));
        }
        Poll::Pending
    }
}

/// The public routes that cost work: pages, the JSON API, WebFinger, NodeInfo, event streams.
pub async fn public(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Answer<impl MessageBody> {
    throttle(req, next, |state| &state.guards.public, "public_rate").await
}

/// Inbox posts, counted before their signature is checked (that is the expensive part).
pub async fn inbox(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Answer<impl MessageBody> {
    throttle(req, next, |state| &state.guards.inbox, "inbox_rate").await
}

async fn throttle<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
    limiter: impl Fn(&AppState) -> &Limiter,
    limit: &'static str,
) -> Answer<B> {
    if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        let client = crate::guard::client_key(super::client::of(req.request(), &state));
        if let Err(wait) = limiter(&state).check(client) {
            state.metrics.refused(limit);
            let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let res = Error::Throttled { retry_after }.error_response();
            return Ok(req.into_response(res).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}
