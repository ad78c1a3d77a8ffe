//! Prometheus metrics, rendered as text at `/metrics`.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
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

/// Labels of a delivery attempt's outcome: `delivered`, `gone` (410), `failed` (final) or
/// `retry`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

/// Labels of a request refused by a limit: `public_rate`, `inbox_rate`, `event_streams`
/// (the process is full), `event_streams_per_client`, `body_timeout`, `handler_timeout`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub limit: &'static str,
}

/// Labels of the queue depth: the deliveries' state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

/// What `/metrics` reads from the database at scrape time, so that every process reports the
/// same shared figures (`None`: the database could not say; the last value stands).
#[derive(Debug, Default)]
pub struct Shared {
    pub live_streams: Option<i64>,
    /// Deliveries per state.
    pub queue: Option<Vec<(String, i64)>>,
    pub breakers_open: Option<i64>,
}

/// The process's metrics: its own counters, and the database's gauges, which one process
/// serves so that sums across processes add up.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// The database's figures: the same whichever process reads them.
    shared: Registry,
    yp_requests: Family<YpLabels, Counter>,
    inbox_requests: Family<InboxLabels, Counter>,
    live_streams: Gauge,
    deliveries: Family<OutcomeLabels, Counter>,
    delivery_latency: Histogram,
    queue: Family<StateLabels, Gauge>,
    breakers_open: Gauge,
    refused: Family<LimitLabels, Counter>,
    event_streams: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("onair");
        let mut shared = Registry::with_prefix("onair");
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
        shared.register(
            "live_streams",
            "Local streams on air (the database's; served by one process)",
            live_streams.clone(),
        );
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Delivery attempts of this process by outcome",
            deliveries.clone(),
        );
        // 50 ms to about 14 hours: a go-live's fan-out in the first buckets, retries after
        // backoff in the last.
        let delivery_latency = Histogram::new(exponential_buckets(0.05, 3.5, 11));
        registry.register(
            "delivery_latency_seconds",
            "Time from queueing an activity to its delivery to an inbox (this process's)",
            delivery_latency.clone(),
        );
        let queue = Family::<StateLabels, Gauge>::default();
        shared.register(
            "delivery_queue",
            "Deliveries by state (the database's; served by one process)",
            queue.clone(),
        );
        let breakers_open = Gauge::default();
        shared.register(
            "delivery_breakers_open",
            "Hosts whose circuit breaker is open (the database's; served by one process)",
            breakers_open.clone(),
        );
        let refused = Family::<LimitLabels, Counter>::default();
        registry.register(
            "refused_requests",
            "Requests this process refused by a limit (rate, event-stream cap, timeout)",
            refused.clone(),
        );
        let event_streams = Gauge::default();
        registry.register(
            "event_streams",
            "Live-title event streams this process holds open",
            event_streams.clone(),
        );
        Self {
            registry,
            shared,
            yp_requests,
            inbox_requests,
            live_streams,
            deliveries,
            delivery_latency,
            queue,
            breakers_open,
            refused,
            event_streams,
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

    /// Counts one request refused by `limit`.
    pub fn refused(&self, limit: &'static str) {
        self.refused.get_or_create(&LimitLabels { limit }).inc();
    }

    /// The event streams open now (set at scrape time).
    pub fn set_event_streams(&self, open: usize) {
        self.event_streams
            .set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// Counts one delivery attempt's outcome.
    pub fn delivery(&self, outcome: &'static str) {
        self.deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Notes how long a delivered activity waited, from queueing to the inbox's answer.
    pub fn delivery_latency(&self, seconds: f64) {
        self.delivery_latency.observe(seconds);
    }

    /// Renders this process's metrics and, when `shared` is given (this process serves the
    /// database's figures), the database's gauges set from it (read at scrape time, so they are
    /// right whichever process did the work).
    pub fn render(&self, shared: Option<Shared>) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        let Some(shared) = shared else {
            return out;
        };
        if let Some(live) = shared.live_streams {
            self.live_streams.set(live);
        }
        if let Some(queue) = shared.queue {
            self.queue.clear();
            for (state, n) in queue {
                self.queue.get_or_create(&StateLabels { state }).set(n);
            }
        }
        if let Some(open) = shared.breakers_open {
            self.breakers_open.set(open);
        }
        // One exposition: the first part's end-of-file marker goes.
        if out.ends_with("# EOF\n") {
            out.truncate(out.len() - "# EOF\n".len());
        }
        let _ = encode(&mut out, &self.shared);
        out
    }
}
