//! Builds the application: database, migrations, state, HTTP server and the background passes
//! (`background`: which passes run where; `passes`: their supervision and turns).

mod background;
mod conn;
mod passes;

use std::{net::TcpListener, sync::Arc, time::Duration};

use activitypub_federation::config::{FederationConfig, FederationMiddleware};
use actix_service::ServiceFactoryExt as _;
use actix_web::{
    App,
    dev::Server,
    middleware::{ErrorHandlers, from_fn},
    web,
};

use crate::{
    blocks::Blocklist,
    catalog::origin::Origin,
    clock::Clock,
    config::Config,
    db::{Db, migrations},
    error::{Error, Result},
    federation::instance::InstanceActor,
    guard::{self, Guards, rate::Limiter, streams::EventStreams},
    keys,
    lifecycle::{Liveness, Shutdown},
    live::LiveFeed,
    metrics::Metrics,
    routes,
    state::AppState,
    urls::Urls,
};

pub use self::passes::{Pass, Runs, supervise};

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
        let fds = guard::fds::raise();
        tracing::info!(
            soft_before = fds.soft_before,
            soft = fds.soft,
            hard = fds.hard,
            connections = connection_cap(&config),
            "file descriptor limit"
        );
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
        tokio::spawn(stop_on_signals(self.server.handle(), shutdown.clone()));
        let work = self.background.then(|| background::start(&self.state));
        let result = self.server.await;
        let graceful = shutdown.is_triggered();
        shutdown.trigger();
        if let Some(work) = work {
            work.stop(&self.state, graceful).await;
        }
        result
    }
}

/// SIGTERM: everything winds down together (HTTP drains, the sender finishes, event streams
/// end); SIGINT: HTTP stops at once, and so does the rest. actix's own signal handling is off,
/// so that nothing stops before `shutdown` is set.
async fn stop_on_signals(server: actix_web::dev::ServerHandle, shutdown: Shutdown) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot watch for SIGTERM and SIGINT");
        return;
    };
    tokio::select! {
        _ = term.recv() => {
            tracing::info!("SIGTERM: stopping");
            shutdown.trigger();
            server.stop(true).await;
        }
        _ = int.recv() => {
            tracing::info!("SIGINT: stopping now");
            server.stop(false).await;
        }
    }
}

/// The state every handler (and a command that federates) works with, over a migrated database.
pub async fn app_state(config: Config, db: Db, clock: Clock) -> Result<AppState> {
    let instance_keys = Arc::new(keys::instance_keys(&db, &clock).await?);
    let tls_roots = crate::net::load_roots(config.tls_ca_file.as_deref())
        .map_err(|e| Error::Config(format!("tls_ca_file: {e}")))?;
    let liveness = Arc::new(Liveness::new(clock.clone()));
    let limits = &config.limits;
    let guards = Arc::new(Guards {
        public: Limiter::new(limits.public_rate, limits.public_burst),
        inbox: Limiter::new(limits.inbox_rate, limits.inbox_burst),
        // Every event stream holds a connection: never more than half of them.
        event_streams: EventStreams::new(
            (limits.event_streams as usize).min(connection_cap(&config) / 2),
            limits.event_streams_per_client,
        ),
    });
    Ok(AppState {
        guards,
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

/// Connections the HTTP server holds at once: `limits.max_connections`, or what the descriptor
/// limit leaves after the reserve and the delivery sender's requests.
fn connection_cap(config: &Config) -> usize {
    let limits = &config.limits;
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(1 << 20);
    let budget = guard::fds::connection_budget(soft, config.delivery.concurrency as u64);
    let cap = match limits.max_connections {
        0 => budget,
        n => u64::from(n).min(budget),
    };
    usize::try_from(cap).unwrap_or(usize::MAX)
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
    let limits = state.config.limits.clone();
    // actix counts connections per worker thread.
    let per_worker = connection_cap(&state.config).div_ceil(workers).max(1);
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Config(e.to_string()))?;
    let seconds = |s: u32| Duration::from_secs(s.into());
    // The longest an honest request can take from its first byte to its answer's first byte.
    let request_limit =
        seconds(limits.header_timeout + limits.body_timeout + limits.handler_timeout);
    let shutdown = state.shutdown.clone();
    let app = move || {
        App::new()
            .wrap(from_fn(routes::guard::deadlines))
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
    };
    // What `HttpServer::listen` builds, with each connection wrapped in `conn::Watched`.
    let server = actix_server::Server::build()
        .workers(workers)
        .max_concurrent_connections(per_worker)
        .shutdown_timeout(30)
        .disable_signals()
        .listen("onair", listener, move || {
            let shutdown = shutdown.clone();
            let http = actix_http::HttpService::build()
                // SIGTERM: idle keep-alive connections close at once instead of holding the
                // graceful stop (what HttpServer wires; hidden in actix-http's docs, kept stable
                // by actix-web's use of it).
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.wait().await }
                })
                // Icecast keeps one connection per directory and touches every 30 s or more.
                .keep_alive(seconds(limits.keep_alive))
                // The whole head of a connection's first request (later ones: conn::Watched).
                .client_request_timeout(seconds(limits.header_timeout))
                .client_disconnect_timeout(Duration::from_secs(2))
                // A client that closes its side has gone (a closed tab): stop its event stream
                // at once rather than at the next write. Clients that half-close and wait are
                // rare.
                .h1_allow_half_closed(false)
                .local_addr(addr)
                .finish(actix_service::map_config(app(), |()| {
                    actix_web::dev::AppConfig::default()
                }));
            actix_service::fn_service(move |io: tokio::net::TcpStream| async move {
                let _ = io.set_nodelay(true);
                let peer = io.peer_addr().ok();
                Ok::<_, actix_http::error::DispatchError>((
                    conn::Watched::new(io, request_limit),
                    actix_http::Protocol::Http1,
                    peer,
                ))
            })
            .and_then(http)
        })
        .map_err(|e| Error::Config(format!("cannot listen: {e}")))?
        .run();
    Ok(server)
}
