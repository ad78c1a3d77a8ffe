//! The one stylesheet and the one script, compiled into the binary.

use actix_web::{HttpResponse, http::header};

const STYLE: &str = include_str!("../../assets/style.css");
const SCRIPT: &str = include_str!("../../assets/app.js");

/// `GET /assets/style.css`
pub async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLE)
}

/// `GET /assets/app.js`
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(SCRIPT)
}

const ICON: &[u8] = include_bytes!("../../assets/icon.png");
const CARD: &[u8] = include_bytes!("../../assets/card.png");

/// `GET /assets/icon.png`: a stream's picture when it has none of its own.
pub async fn icon() -> HttpResponse {
    png(ICON)
}

/// `GET /assets/card.png`: the preview card's image when a stream has no picture.
pub async fn card() -> HttpResponse {
    png(CARD)
}

fn png(bytes: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        // Other sites (and Mastodon's card fetcher) may load it.
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(bytes)
}
