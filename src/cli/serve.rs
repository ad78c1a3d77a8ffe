//! `onair serve`

use anyhow::Context;

use crate::{
    accounts::{self, UserName},
    config::Config,
    db::{Db, models::User},
    error::Error,
    server::{Application, Options},
    streams::icecast_setup,
    urls::Urls,
};

/// Name of the account made on the very first start.
const FIRST_ADMIN: &str = "admin";

pub fn run(config: Config) -> anyhow::Result<()> {
    // This runtime carries only the background tasks (delivery, reaper, refresher, key maker):
    // requests are served on actix's own worker threads, and the CPU work (signing, database,
    // key generation) goes to the blocking pool, one signing batch per core. So it gets half the
    // cores: on two, one thread, where a second only competed with the signers (fan-out
    // benchmark, medians of 12 and 9 runs: 1.75x the machine's signing floor with one, 1.87x
    // with two); on bigger hosts TLS to many inboxes still has threads to spread over.
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads((cores / 2).max(1))
        .enable_all()
        .build()
        .context("starting tokio")?;
    runtime.block_on(async move {
        tracing::info!(config = ?config, "starting");
        warn_about_reach(&config);
        let app = Application::build(config, Options::default()).await?;
        let state = app.state().clone();
        let db = state.db.clone();
        let now = state.clock.now();
        let first = tokio::task::spawn_blocking(move || bootstrap(&db, now)).await??;
        if let Some((password, token)) = first {
            print_first_start(&password, &state.urls, &token);
        }
        tracing::info!(port = app.port(), url = %state.config.url, "listening");
        app.run_until_stopped().await.context("HTTP server")?;
        tracing::info!("stopped");
        Ok::<_, anyhow::Error>(())
    })?;
    // Blocking work still running (a database call that does not return) is not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    Ok(())
}

/// What an operator would otherwise find out from people who cannot follow.
fn warn_about_reach(config: &Config) {
    if config.url.port().is_some() {
        tracing::warn!(
            url = %config.url,
            "the public URL has a non-default port: Mastodon looks accounts up on port 443 (or \
             80) and sends Host without a port, so its users cannot find or follow these \
             streams; put onair behind a proxy on 443 and set url to https://host/"
        );
    }
    if config.url.scheme() == "https" && config.trusted_proxies.is_empty() {
        tracing::warn!(
            "the public URL is https (a TLS proxy in front) but trusted_proxies is empty: every \
             client looks like the proxy to sign-in limits, request rates and logs (all of them \
             share one address's limits); list the proxy's address"
        );
    }
}

/// On an empty database, creates the first admin and a YP token; returns their secrets.
/// Two processes starting at once on one PostgreSQL: the loser sees the admin and skips.
fn bootstrap(db: &Db, now: chrono::NaiveDateTime) -> anyhow::Result<Option<(String, String)>> {
    let created = db.write_blocking(move |c| {
        if User::count(c)? > 0 {
            return Ok(None);
        }
        let password = accounts::generate_password();
        let name = UserName::parse(FIRST_ADMIN)?;
        let user = accounts::create_user(c, &name, &password, true, now)?;
        let (_, token) = accounts::create_token(c, user.id, "first start", now)?;
        Ok(Some((password, token)))
    });
    match created {
        // Another process created the admin first (PostgreSQL, several processes starting).
        Err(e) if e.is_unique_violation() || matches!(e, Error::Conflict(_)) => Ok(None),
        other => Ok(other?),
    }
}

fn print_first_start(password: &str, urls: &Urls, token: &str) {
    let yp_url = urls.yp(token);
    println!();
    println!("  First start: created the admin account. This is shown only once.");
    println!("    user:     {FIRST_ADMIN}");
    println!("    password: {password}");
    println!();
    println!(
        "  Sign in at {} (the dashboard shows your streams and YP URLs).",
        urls.login()
    );
    println!();
    println!("  To list an Icecast stream, set this inside <icecast> in icecast.xml, with your");
    println!("  server's public name and your mount, then restart Icecast:");
    println!();
    for line in icecast_setup(&yp_url).lines() {
        println!("    {line}");
    }
    println!();
    println!("  YP URL: {yp_url}");
    println!(
        "  More tokens: onair token create {FIRST_ADMIN} --label NAME \
         (after cargo run: cargo run --release -- token create …)"
    );
    println!();
}
