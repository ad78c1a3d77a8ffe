//! What every request handler can reach.

use std::sync::Arc;

use crate::{
    catalog::origin::Origin,
    clock::Clock,
    config::Config,
    db::{Db, models::InstanceKeys},
    federation::{blocks::Blocklist, verifier::Verifier},
    metrics::Metrics,
    signin::Attempts,
    streams::Directory,
    urls::Urls,
};

/// Shared application state (cheap to clone).
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub urls: Urls,
    pub clock: Clock,
    pub directory: Directory,
    pub metrics: Arc<Metrics>,
    /// The instance actor's keys, read (or made) once at start.
    pub instance_keys: Arc<InstanceKeys>,
    /// Inbound signature checks, with the keys already parsed.
    pub verifier: Arc<Verifier>,
    /// Blocked domains and actors, and the allow-list.
    pub blocks: Arc<Blocklist>,
    /// Asks origins about their Notes (the catalog's checks).
    pub origin: Origin,
    /// Failed sign-ins, to slow down guessing.
    pub attempts: Arc<Attempts>,
}
