//! `POST /api/icecast/yp/{token}`: the Icecast YP directory endpoint.
//!
//! Icecast ignores the HTTP status and reads only headers (../shared/yp/PROTOCOL.md §2), so every
//! answer is a 200 with `YPResponse: 1` or `YPResponse: 0` and a `YPMessage` for the broadcaster.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{Method, header},
    web,
};
use futures_util::StreamExt;

use crate::{
    error::Error,
    state::AppState,
    streams::{
        Directory,
        yp_form::{Action, YpRequest},
    },
};

/// Largest body accepted; Icecast's biggest add (a 1.5 kB description) is about 3.6 kB.
const MAX_BODY: usize = 16 * 1024;

/// What we tell Icecast.
struct YpReply {
    ok: bool,
    message: String,
    sid: Option<String>,
    touch_freq: Option<u32>,
}

impl YpReply {
    fn refused(message: impl Into<String>) -> Self {
        Self {
            ok: false,
            message: message.into(),
            sid: None,
            touch_freq: None,
        }
    }

    fn into_response(self) -> HttpResponse {
        let mut res = HttpResponse::Ok();
        // Exactly one space after the colon: Icecast compares the line prefix `YPResponse: 1`.
        res.insert_header(("YPResponse", if self.ok { "1" } else { "0" }));
        res.insert_header(("YPMessage", header_safe(&self.message)));
        if let Some(sid) = self.sid {
            res.insert_header(("SID", sid));
        }
        if let Some(freq) = self.touch_freq {
            res.insert_header(("TouchFreq", freq.to_string()));
        }
        res.content_type("text/plain; charset=utf-8")
            .body(format!("{}\n", self.message))
    }
}

/// Every request under `/api/icecast/yp`: `/{token}` is the YP URL (POSTed by Icecast; anything
/// else is a person trying it, or a redirect); a YP URL pasted with something extra (a trailing
/// slash, another segment) still gets an answer Icecast logs; the rest is not ours.
pub async fn entry(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let path = req.match_info().unprocessed();
    let Some(path) = path.strip_prefix('/') else {
        return super::not_found().await;
    };
    match path.split_once('/') {
        None if !path.is_empty() && req.method() == Method::POST => {
            post_yp(&state, path, &req, payload).await
        }
        None if !path.is_empty() => not_post(),
        Some((token, _)) if !token.is_empty() => malformed_url(),
        _ => super::not_found().await,
    }
}

/// Icecast's YP request.
#[tracing::instrument(skip_all)]
async fn post_yp(
    state: &AppState,
    token: &str,
    req: &HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let body = match read_body(req, payload).await {
        Ok(body) => body,
        Err(message) => {
            state.metrics.yp_request("invalid", "refused");
            let reply = YpReply::refused(message);
            note(state, token, "invalid", &reply).await;
            return reply.into_response();
        }
    };
    let (reply, action) = match YpRequest::parse(&body, state.config.allow_private_networks) {
        Ok(request) => {
            let action = request.action();
            (answer(state, token, request).await, Some(action))
        }
        Err(e) => {
            // Read apart only when the whole body is refused (a touch is parsed once).
            let action = Action::of_body(&body);
            let label = action.map_or("invalid", Action::as_str);
            state.metrics.yp_request(label, "refused");
            tracing::info!(action = label, error = %e, "YP request refused");
            (
                YpReply::refused(with_retry_hint(action, e.to_string())),
                action,
            )
        }
    };
    let label = action.map_or("invalid", Action::as_str);
    // Touches that succeed are noted by their batch, at most once a minute.
    if !(reply.ok && action == Some(Action::Touch)) {
        note(state, token, label, &reply).await;
    }
    reply.into_response()
}

/// Keeps what Icecast was told on the token, for the dashboard and `onair token list`. A
/// failure to note is logged, never the answer's business.
async fn note(state: &AppState, token: &str, action: &str, reply: &YpReply) {
    if !plausible_token(token) {
        return;
    }
    let directory = Directory::new(state);
    if let Err(e) = directory
        .note(token, action, reply.ok, &reply.message)
        .await
    {
        tracing::warn!(error = %e, "could not note a YP request on its token");
    }
}

/// A refused add costs the broadcaster two hours unless they know: Icecast asks again only when
/// its source reconnects, or 7,200 s later.
fn with_retry_hint(action: Option<Action>, message: String) -> String {
    if action == Some(Action::Add) {
        format!(
            "{message}. Icecast tries again only when the source reconnects (or after two hours)"
        )
    } else {
        message
    }
}

/// Anything but POST on the YP URL: a person trying it in a browser, or a redirect (http to
/// https, say) that made Icecast's POST a GET.
fn not_post() -> HttpResponse {
    YpReply::refused(
        "this YP URL takes POST requests from Icecast: put it in <yp-url> in icecast.xml exactly as \
         given (a redirect, e.g. http to https, turns the POST into a GET)",
    )
    .into_response()
}

/// The YP URL with extra path segments.
fn malformed_url() -> HttpResponse {
    YpReply::refused(
        "this is not a YP URL onair issued: copy <yp-url> exactly, with nothing after the token",
    )
    .into_response()
}

async fn answer(state: &AppState, token: &str, request: YpRequest) -> YpReply {
    let action = request.action();
    let directory = Directory::new(state);
    let result = if !plausible_token(token) {
        Err(Error::UnknownToken)
    } else {
        match request {
            YpRequest::Add(add) => {
                let warnings = add.warnings.join("; ");
                directory.add(token, *add).await.map(|added| YpReply {
                    ok: true,
                    message: match warnings.as_str() {
                        "" => format!("Added as @{}", added.handle),
                        w => format!("Added as @{} ({w})", added.handle),
                    },
                    sid: Some(added.sid.as_str().to_owned()),
                    touch_freq: Some(directory.touch_freq()),
                })
            }
            YpRequest::Touch(touch) => directory
                .touch(token, touch)
                .await
                .map(|()| ok_reply("Touched")),
            YpRequest::Remove(sid) => directory
                .remove(token, sid)
                .await
                .map(|()| ok_reply("Removed")),
        }
    };
    match result {
        Ok(reply) => {
            state.metrics.yp_request(action.as_str(), "ok");
            reply
        }
        Err(e) => refusal(state, action, &e),
    }
}

fn ok_reply(message: &str) -> YpReply {
    YpReply {
        ok: true,
        message: message.to_owned(),
        sid: None,
        touch_freq: None,
    }
}

fn refusal(state: &AppState, action: Action, e: &Error) -> YpReply {
    if e.is_internal() {
        state.metrics.yp_request(action.as_str(), "error");
        tracing::error!(action = action.as_str(), error = %e, "YP request failed");
    } else {
        state.metrics.yp_request(action.as_str(), "refused");
        tracing::info!(action = action.as_str(), error = %e, "YP request refused");
    }
    YpReply::refused(with_retry_hint(Some(action), e.public_message()))
}

/// Our tokens are letters and digits; anything else cannot match and skips the database.
fn plausible_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 128 && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Reads the body up to [`MAX_BODY`], refusing larger ones with a message instead of a 413.
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, String> {
    let too_large = || format!("request body is larger than {} KiB", MAX_BODY / 1024);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(512));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| format!("could not read the request body: {e}"))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Header values carry visible ASCII only; Icecast logs the message up to the first CR/LF.
fn header_safe(message: &str) -> String {
    let ascii: String = deunicode::deunicode(message)
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    ascii.chars().take(400).collect()
}
