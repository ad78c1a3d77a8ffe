//! Prometheus metrics, rendered as text at `/metrics`.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

/// Labels of a YP request: its action (or `invalid` when it could not be parsed) and its result.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct YpLabels {
    pub action: &'static str,
    /// `ok`, `refused` (the sender's fault) or `error` (ours).
    pub result: &'static str,
}

/// Labels of an inbox request: `accepted` (2xx), `refused` (the sender's fault: 4xx) or `error`
/// (ours: 5xx).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InboxLabels {
    pub result: &'static str,
}

/// The process's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    yp_requests: Family<YpLabels, Counter>,
    inbox_requests: Family<InboxLabels, Counter>,
    live_streams: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("onair");
        let yp_requests = Family::<YpLabels, Counter>::default();
        registry.register(
            "yp_requests",
            "YP requests from Icecast by action and result",
            yp_requests.clone(),
        );
        let inbox_requests = Family::<InboxLabels, Counter>::default();
        registry.register(
            "inbox_requests",
            "ActivityPub inbox requests by result",
            inbox_requests.clone(),
        );
        let live_streams = Gauge::default();
        registry.register(
            "live_streams",
            "Local streams on air (all processes)",
            live_streams.clone(),
        );
        Self {
            registry,
            yp_requests,
            inbox_requests,
            live_streams,
        }
    }
}

impl Metrics {
    /// Counts one YP request.
    pub fn yp_request(&self, action: &'static str, result: &'static str) {
        self.yp_requests
            .get_or_create(&YpLabels { action, result })
            .inc();
    }

    /// Counts one inbox request.
    pub fn inbox_request(&self, result: &'static str) {
        self.inbox_requests
            .get_or_create(&InboxLabels { result })
            .inc();
    }

    /// Renders every metric, with the live-stream gauge set to `live` (read from the database at
    /// scrape time, so it is right whichever process served the YP requests; `None` keeps the
    /// last known value when the database cannot say).
    pub fn render(&self, live: Option<i64>) -> String {
        if let Some(live) = live {
            self.live_streams.set(live);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
