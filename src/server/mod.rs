//! Builds the application: database, migrations, state, HTTP server and the background passes
//! (`passes`: their supervision and turns).

mod passes;

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
    lifecycle::{HOUSEKEEPING, Liveness, Shutdown},
    live::LiveFeed,
    metrics::Metrics,
    routes,
    state::AppState,
    streams::Directory,
    urls::Urls,
};

pub use self::passes::{Pass, Runs, supervise};

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
        // Other processes' commits (PostgreSQL): wake this one's deliveries and live pages.
        // Waited for (briefly), so a page opened right after start hears every change.
        let listening = state.db.listen();
        if tokio::time::timeout(Duration::from_secs(5), listening)
            .await
            .is_err()
        {
            tracing::warn!("database notifications not in place yet; going on without waiting");
        }
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

    /// Serves until SIGTERM, then lets in-flight requests finish (up to 30 s) and the delivery
    /// sender finish the requests it has started (up to the delivery timeout and a margin);
    /// SIGINT (Ctrl-C) stops at once.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let shutdown = self.state.shutdown.clone();
        // actix stops serving on SIGTERM by itself; this tells everything else at the same time.
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                term.recv().await;
                tracing::info!("SIGTERM: stopping");
                shutdown.trigger();
            });
        }
        let (sender, passes) = if self.background {
            let state = &self.state;
            let sender = tokio::spawn(supervise_sender(state.clone()));
            let passes: Vec<_> = passes(state)
                .into_iter()
                .map(|pass| {
                    tokio::spawn(passes::supervise(
                        pass,
                        state.db.clone(),
                        state.liveness.clone(),
                        shutdown.clone(),
                    ))
                })
                .collect();
            (Some(sender), passes)
        } else {
            (None, Vec::new())
        };
        let result = self.server.await;
        let graceful = shutdown.is_triggered();
        shutdown.trigger();
        if let Some(mut sender) = sender {
            let delivery = &self.state.config.delivery;
            let bound = Duration::from_secs(u64::from(delivery.timeout)) + SENDER_STOP_MARGIN;
            if !graceful || tokio::time::timeout(bound, &mut sender).await.is_err() {
                // Its leases run out and other processes (or the next start) send the rest.
                sender.abort();
            }
        }
        for pass in passes {
            pass.abort();
        }
        result
    }
}

/// Beyond the delivery timeout, what the sender gets to record its last outcomes on SIGTERM.
const SENDER_STOP_MARGIN: Duration = Duration::from_secs(5);

/// The periodic passes. The reaper runs in every process: each of its ends is conditional on
/// the broadcast still being idle past the cutoff, so two reapers end a broadcast once. The
/// others take turns: two refreshers would ask every origin twice, two key makers would each
/// spend seconds generating a key only one of them can store, and housekeeping's deletes are
/// wasted work twice over.
fn passes(state: &AppState) -> Vec<Pass> {
    let reaper = {
        let state = state.clone();
        Pass::new("reaper", REAP_EVERY, Runs::Everywhere, move || {
            let state = state.clone();
            async move { Directory::new(&state).reap().await.map(drop) }
        })
    };
    let refresher = {
        let refresher = Refresher::new(state);
        Pass::new(
            "catalog refresher",
            REFRESH_EVERY,
            Runs::OneAtATime(TURN_REFRESHER),
            move || {
                let refresher = refresher.clone();
                async move { refresher.pass().await.map(drop) }
            },
        )
        // A pass asks up to 50 origins, each allowed 10 s.
        .stale_after(Duration::from_secs(15 * 60))
    };
    let key_maker = {
        let (db, clock) = (state.db.clone(), state.clock.clone());
        Pass::new(
            "key maker",
            MAKE_KEYS_EVERY,
            Runs::OneAtATime(TURN_KEY_MAKER),
            move || {
                let (db, clock) = (db.clone(), clock.clone());
                async move { keys::fill_missing(&db, &clock).await.map(drop) }
            },
        )
    };
    let housekeeping = {
        let state = state.clone();
        Pass::new(
            HOUSEKEEPING,
            HOUSEKEEPING_EVERY,
            Runs::OneAtATime(TURN_HOUSEKEEPING),
            move || housekeeping(state.clone()),
        )
        .stale_after(Duration::from_secs(15 * 60))
    };
    vec![reaper, refresher, key_maker, housekeeping]
}

/// Advisory-lock keys of the passes that take turns ("onair" in ASCII, then a number).
const TURN_REFRESHER: i64 = 0x6f6e_6169_7201;
const TURN_KEY_MAKER: i64 = 0x6f6e_6169_7202;
const TURN_HOUSEKEEPING: i64 = 0x6f6e_6169_7203;

/// Runs the delivery sender until shutdown; a panic is logged, reported and followed by a
/// fresh start (its leases run out and are claimed again).
async fn supervise_sender(state: AppState) {
    let worker = Worker::from_state(&state, Limits::from_config(&state.config.delivery))
        .with_liveness(state.liveness.clone());
    let mut wait = Duration::from_secs(1);
    loop {
        match tokio::spawn(worker.clone().run_until(state.shutdown.clone())).await {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, "delivery sender panicked; starting again");
                state.liveness.failed(Worker::PASS, e.to_string());
            }
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.shutdown.wait() => return,
        }
        wait = (wait * 2).min(Duration::from_secs(60));
    }
}

/// The library's configuration: our domain, and the instance actor to sign fetches with. Private
/// networks allowed means the library's debug mode, its only way to accept `localhost:port`.
/// The state every handler (and a command that federates) works with, over a migrated database.
pub async fn app_state(config: Config, db: Db, clock: Clock) -> Result<AppState> {
    let instance_keys = Arc::new(keys::instance_keys(&db, &clock).await?);
    let tls_roots = crate::net::load_roots(config.tls_ca_file.as_deref())
        .map_err(|e| Error::Config(format!("tls_ca_file: {e}")))?;
    let liveness = Arc::new(Liveness::new(clock.clone()));
    Ok(AppState {
        urls: Urls::new(config.url.clone()),
        clock,
        metrics: Arc::new(Metrics::default()),
        instance_keys,
        verifier: Arc::default(),
        origin_client: Origin::client(config.allow_private_networks, &tls_roots),
        tls_roots: tls_roots.into(),
        liveness,
        shutdown: Shutdown::default(),
        live: LiveFeed::start(&db),
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

/// Forgets old inbound activity ids, finished deliveries past their retention and ended
/// sign-in failure windows. Each part runs even if another failed; the pass reports the first
/// failure.
async fn housekeeping(state: AppState) -> Result<()> {
    let now = state.clock.now();
    let retention = state.config.delivery.retention_days;
    let ids = crate::federation::inbox::forget_old_ids(&state.db, now).await;
    let deliveries = crate::delivery::forget_finished(&state.db, now, retention).await;
    let failures = crate::signin::forget_old_failures(&state.db, now).await;
    ids.map(drop)?;
    deliveries.map(drop)?;
    failures.map(drop)
}
