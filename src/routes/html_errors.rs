//! Errors as pages for browsers: a request that accepts HTML gets a page with the error's
//! message instead of the JSON every other client gets. Machine clients (Icecast, peers, the API)
//! never send `Accept: text/html` first, so nothing changes for them.

use actix_web::{
    HttpResponse, dev::ServiceResponse, http::header, middleware::ErrorHandlerResponse,
};
use askama::Template;

use crate::{
    error::PublicMessage,
    state::AppState,
    views::{ErrorPage, Layout},
};

/// Whether the client asked for a page.
fn wants_html<B>(res: &ServiceResponse<B>) -> bool {
    res.request()
        .headers()
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.trim_start().starts_with("text/html"))
}

/// The `ErrorHandlers` default handler.
pub fn render<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let message = res.response().extensions().get::<PublicMessage>().cloned();
    let (Some(PublicMessage(message)), true) = (message, wants_html(&res)) else {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    };
    let status = res.status();
    // The page's links come from the app's URLs; without them (never in the app) the JSON stays.
    let Some(layout) = res
        .request()
        .app_data::<actix_web::web::Data<AppState>>()
        .map(|s| Layout::new(&s.urls))
    else {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    };
    let site = layout.site.clone();
    // Back to the page the form was on, when it was one of ours.
    let back = res
        .request()
        .headers()
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .filter(|r| r.authority() == site)
        .map_or_else(
            || layout.urls.home().path().to_owned(),
            |r| r.path().to_owned(),
        );
    let page = ErrorPage {
        layout,
        heading: status.canonical_reason().unwrap_or("Error").to_owned(),
        message,
        back,
    };
    let Ok(body) = page.render() else {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    };
    let html = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, super::pages::CSP))
        .body(body);
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, html).map_into_right_body(),
    ))
}
