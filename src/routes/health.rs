//! `/healthz` and `/metrics`.

use actix_web::{HttpResponse, web};

use crate::{
    db::models::{Broadcast, Delivery, HostBreaker},
    lifecycle::{HOUSEKEEPING, Role},
    metrics::Shared,
    state::AppState,
};

/// 200 when the database answers and no background pass has stalled, 503 otherwise; the body
/// says which, and how each pass is doing (who runs it, when it last completed).
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.db.ping().await;
    let passes = state.liveness.report();
    let stalled: Vec<&str> = passes
        .iter()
        .filter(|p| p.stalled)
        .map(|p| p.name)
        .collect();
    let mut body = match (&database, stalled.is_empty()) {
        (Ok(()), true) => "ok\n".to_owned(),
        (Err(_), _) => "database unavailable\n".to_owned(),
        (Ok(()), false) => format!("stalled: {}\n", stalled.join(", ")),
    };
    for p in &passes {
        body.push_str(&format!(
            "{}: {}, last completed {} s ago{}\n",
            p.name,
            p.role.as_str(),
            p.quiet_for,
            // The error itself only in the log: this page is public.
            match p.failures {
                0 => String::new(),
                n => format!(", {n} failures in a row (see the log)"),
            }
        ));
    }
    let healthy = database.is_ok() && stalled.is_empty();
    if let Err(e) = &database {
        tracing::error!(error = %e, "health check: database failed");
    }
    if !stalled.is_empty() {
        tracing::error!(passes = ?stalled, "health check: background passes stalled");
    }
    let mut res = if healthy {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    res.content_type("text/plain").body(body)
}

/// Prometheus text format. Renders even when the database is down: the counters matter most then.
/// The database's gauges come only from the process that runs housekeeping (any process when
/// nobody knows yet), so summing a metric over processes never counts the database twice.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    state
        .metrics
        .set_event_streams(state.guards.event_streams.count());
    let standby = state.liveness.role(HOUSEKEEPING) == Some(Role::Standby);
    if standby {
        return HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(state.metrics.render(None));
    }
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
        .body(state.metrics.render(Some(shared)))
}
