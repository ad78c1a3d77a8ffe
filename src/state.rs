//! What every request handler, command and background pass can reach: handles to the
//! ground-floor services (database, clock, URLs, keys, block list), nothing of the domain. It is
//! also the library's `DataType`, so federation code below the domain can take it.

use std::sync::Arc;

use crate::{
    blocks::Blocklist,
    clock::Clock,
    config::Config,
    db::{Db, models::InstanceKeys},
    guard::Guards,
    httpsig::Verifier,
    lifecycle::{Liveness, Shutdown},
    live::LiveFeed,
    metrics::Metrics,
    urls::Urls,
};

/// Shared application state (cheap to clone).
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub urls: Urls,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// The instance actor's keys, read (or made) once at start.
    pub instance_keys: Arc<InstanceKeys>,
    /// Inbound signature checks, with the keys already parsed.
    pub verifier: Arc<Verifier>,
    /// Blocked domains and actors, and the allow-list.
    pub blocks: Arc<Blocklist>,
    /// The HTTP client that asks origins about their Notes (the catalog's checks).
    pub origin_client: reqwest::Client,
    /// Certificate authorities outgoing https trusts besides the system's (`tls_ca_file`).
    pub tls_roots: Arc<[reqwest::Certificate]>,
    /// The background passes as `/healthz` reports them.
    pub liveness: Arc<Liveness>,
    /// Set when the process is stopping.
    pub shutdown: Shutdown,
    /// Committed stream changes by stream, for open live pages.
    pub live: Arc<LiveFeed>,
    /// Per-client rates and the event-stream caps.
    pub guards: Arc<Guards>,
}
