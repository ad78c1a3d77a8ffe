//! Builds the application: database, migrations, state, HTTP server and the background passes.

use std::{net::TcpListener, sync::Arc, time::Duration};

use activitypub_federation::config::{FederationConfig, FederationMiddleware};
use actix_web::{App, HttpServer, dev::Server, middleware::ErrorHandlers, web};

use crate::{
    blocks::Blocklist,
    catalog::{origin::Origin, refresh::Refresher},
    clock::Clock,
    config::Config,
    db::{Db, migrations},
    delivery::worker::{Limits, Worker},
    error::{Error, Result},
    federation::instance::InstanceActor,
    keys,
    metrics::Metrics,
    routes,
    state::AppState,
    streams::Directory,
    urls::Urls,
};

/// How often the reaper looks for broadcasts to end. One indexed query; the timing rules
/// themselves come from the YP settings.
const REAP_EVERY: Duration = Duration::from_secs(1);
/// How often old inbound activity ids are forgotten.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);
/// How often the catalog looks for entries that went quiet.
const REFRESH_EVERY: Duration = Duration::from_secs(10);
/// How often new streams are looked for to give them key pairs.
const MAKE_KEYS_EVERY: Duration = Duration::from_secs(1);

/// Knobs the binary never turns but tests do.
#[derive(Debug, Clone)]
pub struct Options {
    pub clock: Clock,
    /// Run the background passes: the reaper, the key maker and the delivery worker (tests
    /// call `Directory::reap`, `keys::fill_missing` and `Worker::deliver_due` instead).
    pub background: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: Clock::System,
            background: true,
        }
    }
}

/// A bound, not yet running, onair server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    background: bool,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener (port 0 picks one).
    pub async fn build(config: Config, options: Options) -> Result<Self> {
        let db = Db::connect(&config.database_url, config.database_pool_size)?;
        let db_for_migrations = db.clone();
        tokio::task::spawn_blocking(move || migrations::run_pending(&db_for_migrations)).await??;
        let state = app_state(config, db, options.clock).await?;
        let listener = TcpListener::bind(state.config.bind)
            .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", state.config.bind)))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Config(e.to_string()))?
            .port();
        let federation = federation_config(&state).await?;
        let server = http_server(state.clone(), federation, listener)?;
        Ok(Self {
            port,
            server,
            state,
            background: options.background,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The state handlers see (tests drive the directory through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM, then lets in-flight requests finish (up to 30 s); SIGINT (Ctrl-C)
    /// stops at once.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let tasks = if self.background {
            vec![
                tokio::spawn(run_reaper(self.state.clone())),
                tokio::spawn(run_refresher(Refresher::new(&self.state))),
                tokio::spawn(run_housekeeping(self.state.clone())),
                tokio::spawn(run_key_maker(
                    self.state.db.clone(),
                    self.state.clock.clone(),
                )),
                tokio::spawn(
                    Worker::from_state(
                        &self.state,
                        Limits::from_config(&self.state.config.delivery),
                    )
                    .run_until_stopped(),
                ),
            ]
        } else {
            Vec::new()
        };
        let result = self.server.await;
        for task in tasks {
            task.abort();
        }
        result
    }
}

/// The library's configuration: our domain, and the instance actor to sign fetches with. Private
/// networks allowed means the library's debug mode, its only way to accept `localhost:port`.
/// The state every handler (and a command that federates) works with, over a migrated database.
pub async fn app_state(config: Config, db: Db, clock: Clock) -> Result<AppState> {
    let instance_keys = Arc::new(keys::instance_keys(&db, &clock).await?);
    let tls_roots = crate::net::load_roots(config.tls_ca_file.as_deref())
        .map_err(|e| Error::Config(format!("tls_ca_file: {e}")))?;
    Ok(AppState {
        urls: Urls::new(config.url.clone()),
        clock,
        metrics: Arc::new(Metrics::default()),
        instance_keys,
        verifier: Arc::default(),
        origin_client: Origin::client(config.allow_private_networks, &tls_roots),
        tls_roots: tls_roots.into(),
        blocks: Arc::new(Blocklist::new(
            db.clone(),
            config.catalog.allowed_domains.clone(),
        )),
        config: Arc::new(config),
        db,
    })
}

/// The library's configuration: our domain, the instance actor signing fetches.
pub async fn federation_config(state: &AppState) -> Result<FederationConfig<AppState>> {
    let signer = InstanceActor::new(&state.urls, (*state.instance_keys).clone());
    // Our client rather than the library's: the same private-address policy as every other
    // outgoing request (its resolver checks only in release builds) and the extra CAs.
    let client = crate::net::client(state.config.allow_private_networks, &state.tls_roots)
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
    FederationConfig::builder()
        .domain(state.urls.authority())
        .client(client.into())
        .app_data(state.clone())
        .debug(state.config.allow_private_networks)
        .signed_fetch_actor(&signer)
        // rsa-sha256 rather than hs2019 in our signed GETs: what Mastodon and bovine expect.
        .http_signature_compat(true)
        .build()
        .await
        .map_err(|e| Error::Config(format!("federation: {e}")))
}

fn http_server(
    state: AppState,
    federation: FederationConfig<AppState>,
    listener: TcpListener,
) -> Result<Server> {
    let workers = match state.config.workers {
        0 => std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        n => n,
    };
    let server = HttpServer::new(move || {
        App::new()
            .wrap(FederationMiddleware::new(federation.clone()))
            .wrap(ErrorHandlers::new().default_handler(routes::html_errors::render))
            .app_data(web::Data::new(state.clone()))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| Error::Invalid(e.to_string()).into()),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|e, _| Error::Invalid(e.to_string()).into()),
            )
            .app_data(
                web::FormConfig::default()
                    .limit(16 * 1024)
                    .error_handler(|e, _| Error::Invalid(e.to_string()).into()),
            )
            .configure(routes::configure)
    })
    .workers(workers)
    // Icecast keeps one connection per directory and touches every 30 s or more: keep it open.
    .keep_alive(Duration::from_secs(120))
    .shutdown_timeout(30)
    .listen(listener)
    .map_err(|e| Error::Config(format!("cannot listen: {e}")))?
    .run();
    Ok(server)
}

/// Gives new streams their key pairs until the task is aborted.
async fn run_key_maker(db: Db, clock: Clock) {
    let mut tick = tokio::time::interval(MAKE_KEYS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = keys::fill_missing(&db, &clock).await {
            tracing::error!(error = %e, "key maker pass failed");
        }
    }
}

/// Checks quiet catalog entries at their origin until the task is aborted.
async fn run_refresher(refresher: Refresher) {
    let mut tick = tokio::time::interval(REFRESH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = refresher.pass().await {
            tracing::error!(error = %e, "catalog refresh pass failed");
        }
    }
}

/// Once a minute until the task is aborted: forgets old inbound activity ids, and finished
/// deliveries past their retention.
async fn run_housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(HOUSEKEEPING_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let retention = state.config.delivery.retention_days;
    loop {
        tick.tick().await;
        let now = state.clock.now();
        if let Err(e) = crate::federation::inbox::forget_old_ids(&state.db, now).await {
            tracing::error!(error = %e, "housekeeping pass failed");
        }
        if let Err(e) = crate::delivery::forget_finished(&state.db, now, retention).await {
            tracing::error!(error = %e, "forgetting finished deliveries failed");
        }
        if let Err(e) = crate::signin::forget_old_failures(&state.db, now).await {
            tracing::error!(error = %e, "forgetting old sign-in failures failed");
        }
    }
}

/// Ends silent and expired broadcasts until the task is aborted.
async fn run_reaper(state: AppState) {
    let directory = Directory::new(&state);
    let mut tick = tokio::time::interval(REAP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = directory.reap().await {
            tracing::error!(error = %e, "reaper pass failed");
        }
    }
}
