//! `/healthz` and `/metrics`.

use actix_web::{HttpResponse, web};

use crate::{
    db::models::{Broadcast, Delivery, HostBreaker},
    metrics::Shared,
    state::AppState,
};

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
    let now = state.clock.now();
    let shared = state
        .db
        .read(move |c| {
            Ok(Shared {
                live_streams: Some(Broadcast::count_live(c)?),
                queue: Some(Delivery::count_by_state(c)?),
                breakers_open: Some(i64::try_from(HostBreaker::open(c, now)?.len()).unwrap_or(0)),
            })
        })
        .await
        .inspect_err(|e| tracing::error!(error = %e, "reading shared metrics failed"))
        .unwrap_or_default();
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(shared))
}
