//! `/healthz` and `/metrics`.

use actix_web::{HttpResponse, web};

use crate::{db::models::Broadcast, state::AppState};

/// 200 when the database answers, 503 otherwise.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok\n"),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable\n")
        }
    }
}

/// Prometheus text format. Renders even when the database is down: the counters matter most then.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let live = state
        .db
        .read(Broadcast::count_live)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "counting live streams failed"))
        .ok();
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(live))
}
