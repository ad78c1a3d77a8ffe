//! HTTP only: extract, call the domain or the database, answer. The whole route table is here.

mod api;
mod health;
mod yp;

use actix_web::{HttpResponse, web};

/// Every route the service answers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/icecast/yp/{token}")
            .route(web::post().to(yp::post_yp))
            .default_service(web::to(yp::not_post)),
    )
    // A YP URL pasted with something extra (a trailing slash, another segment) still gets an
    // answer Icecast logs.
    .route(
        "/api/icecast/yp/{token}/{rest:.*}",
        web::to(yp::malformed_url),
    )
    .route("/api/v1/streams", web::get().to(api::list_streams))
    .route("/api/v1/streams/{handle}", web::get().to(api::show_stream))
    .route("/healthz", web::get().to(health::healthz))
    .route("/metrics", web::get().to(health::metrics))
    .default_service(web::to(not_found));
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({ "error": "not found" }))
}
