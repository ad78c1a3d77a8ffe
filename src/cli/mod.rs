//! The `onair` command line: one clap enum, one module per subcommand. Every subcommand reads the
//! same configuration as `serve` and works beside a running server on the same database.

mod accounts;
mod backup;
mod block;
mod follower;
mod queue;
mod remote;
mod serve;
mod show;
mod stream;

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::{
    config::Config,
    db::{Backend, Db, migrations},
};

/// Icecast live streams as fediverse accounts.
#[derive(Debug, Parser)]
#[command(name = "onair", version, about)]
pub struct Cli {
    /// TOML configuration file; ONAIR_* environment variables override it.
    #[arg(long, short, global = true, env = "ONAIR_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (HTTP server, YP directory, reaper).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(accounts::UserCommand),
    /// Manage YP tokens (the secret in a broadcaster's YP URL).
    #[command(subcommand)]
    Token(accounts::TokenCommand),
    /// List or delete streams, or choose what followers see when a broadcast ends.
    #[command(subcommand)]
    Stream(stream::StreamCommand),
    /// Scheduled shows: announced ahead as Events, in calendars, kept by the go-live post.
    #[command(subcommand)]
    Show(show::ShowCommand),
    /// A stream's followers, and whether follows wait for approval.
    #[command(subcommand)]
    Follower(follower::FollowerCommand),
    /// Blocked domains and actors.
    #[command(subcommand)]
    Block(block::BlockCommand),
    /// Remote streams the instance follows for the federated catalog.
    #[command(subcommand)]
    Remote(remote::RemoteCommand),
    /// ActivityPub relays the instance subscribes to.
    #[command(subcommand)]
    Relay(remote::RelayCommand),
    /// The delivery queue.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// Copy the SQLite database to FILE while the server runs (on PostgreSQL, use pg_dump).
    Backup {
        /// Where to write the copy; it must not exist yet.
        file: PathBuf,
    },
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => serve::run(config),
        Command::Migrate => {
            let db = Db::connect(&config.database_url, 2)?;
            let applied = migrations::run_pending(&db)?;
            println!("{} migration(s) applied", applied.len());
            for name in applied {
                println!("  {name}");
            }
            Ok(())
        }
        Command::User(cmd) => accounts::run_user(cmd, &open(&config)?),
        Command::Token(cmd) => accounts::run_token(cmd, &open(&config)?, &config),
        Command::Stream(cmd) => stream::run(cmd, &open(&config)?, &config),
        Command::Show(cmd) => show::run(cmd, &open(&config)?, &config),
        Command::Queue(cmd) => queue::run(cmd, &open(&config)?),
        Command::Follower(cmd) => follower::run(cmd, &open(&config)?, &config),
        Command::Remote(cmd) => remote::run(cmd, open(&config)?, config),
        Command::Block(cmd) => block::run(cmd, &open(&config)?),
        Command::Relay(cmd) => remote::run_relay(cmd, open(&config)?, config),
        Command::Backup { file } => backup::run(&config, &file),
    }
}

/// Opens an existing database and brings its schema up to date. Unlike `serve` and `migrate`, it
/// never creates a SQLite file: run from the wrong directory, a command would otherwise succeed
/// on a new, empty database.
fn open(config: &Config) -> anyhow::Result<Db> {
    if let (Backend::Sqlite, path) = Backend::from_url(&config.database_url)
        && !std::path::Path::new(&path).exists()
    {
        bail!(
            "no database at {path}: run this where `onair serve` runs, or set ONAIR_DATABASE_URL \
             (`onair migrate` creates an empty one)"
        );
    }
    let db = Db::connect(&config.database_url, 2)?;
    migrations::run_pending(&db).context("applying migrations")?;
    Ok(db)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
