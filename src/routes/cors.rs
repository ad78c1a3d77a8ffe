//! `Access-Control-Allow-Origin: *` on what the public scope answers in JSON (the stream API,
//! actor documents, WebFinger, NodeInfo, oEmbed, tag lists) and on host-meta: another site's
//! page may read them. Only this scope gets it, and nothing in it reads a session, so no answer
//! that depends on who is signed in is ever opened to other origins (nor could a `*` answer be
//! read with credentials).

use actix_web::{
    HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        Method,
        header::{
            ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
            ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
            CONTENT_TYPE, HeaderValue,
        },
    },
    middleware::Next,
};

/// Media types other sites may read.
fn readable(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.ends_with("/json") || essence.ends_with("+json") || essence == "application/xrd+xml"
}

/// The middleware; it also answers browsers' preflights (an `Accept` such as
/// `application/ld+json; profile="…"` is not a "simple" header, so a page asks first).
pub async fn anyone_may_read(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if req.method() == Method::OPTIONS && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD)
    {
        let res = HttpResponse::NoContent()
            .insert_header((ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD"))
            .insert_header((ACCESS_CONTROL_ALLOW_HEADERS, "Accept"))
            .insert_header((ACCESS_CONTROL_MAX_AGE, "86400"))
            .finish();
        return Ok(req.into_response(res).map_into_right_body());
    }
    // Only reads: what a write answers is its caller's business.
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    let mut res = next.call(req).await?.map_into_left_body();
    let open = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(readable);
    if open && read {
        res.headers_mut()
            .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_kinds_are_readable_and_pages_are_not() {
        for open in [
            "application/json",
            "application/activity+json",
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            "application/jrd+json; charset=utf-8",
            "application/xrd+xml; charset=utf-8",
        ] {
            assert!(super::readable(open), "{open}");
        }
        for closed in [
            "text/html; charset=utf-8",
            "text/event-stream",
            "audio/x-mpegurl",
        ] {
            assert!(!super::readable(closed), "{closed}");
        }
    }
}
