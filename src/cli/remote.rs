//! `onair remote …` and `onair relay …`: the instance actor follows remote streams and
//! subscribes to relays for the federated catalog. A command resolves the actor and queues the
//! Follow; the running server delivers it.

use activitypub_federation::config::Data;
use clap::Subcommand;

use crate::{
    clock::Clock,
    config::Config,
    db::Db,
    federation::{
        relays,
        subscribe::{self, Target},
    },
    server,
    state::AppState,
};

/// `onair remote …`
#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Follow a remote stream (`@handle@host`, `acct:handle@host` or its actor URL); its
    /// broadcasts enter the catalog once it accepts.
    Follow {
        /// `@handle@host`, `acct:handle@host` or the stream's actor URL.
        target: String,
    },
    /// Stop following a remote stream; its catalog entries go at once.
    Unfollow {
        /// The stream as followed (`@handle@host` or its actor URL).
        target: String,
    },
    /// The remote streams followed, and whether each accepted.
    List,
}

/// `onair relay …`
#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Subscribe to a relay: its inbox URL (`…/inbox`, the Mastodon kind) or its actor URL (the
    /// LitePub kind). Local broadcasts then go to it too, and what it passes on enters the
    /// catalog once verified at its origin.
    Add {
        /// The relay's inbox URL (Mastodon kind) or actor URL (LitePub kind).
        url: String,
    },
    /// Unsubscribe from a relay.
    Remove {
        /// The relay's URL as subscribed.
        url: String,
    },
    /// Relays subscribed to, and whether each accepted.
    List,
}

/// Runs `f` with the app's state and the library's request data, on a runtime of its own.
fn with_data<F>(db: Db, config: Config, f: F) -> anyhow::Result<()>
where
    F: AsyncFnOnce(&AppState, &Data<AppState>) -> anyhow::Result<()>,
{
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let state = server::app_state(config, db, Clock::System).await?;
        let data = server::federation_config(&state).await?.to_request_data();
        f(&state, &data).await
    })
}

pub fn run_relay(cmd: RelayCommand, db: Db, config: Config) -> anyhow::Result<()> {
    with_data(db, config, async |state, data| {
        match cmd {
            RelayCommand::Add { url: u } => {
                let sub = relays::subscribe(data, &relays::parse_url(&u)?).await?;
                println!(
                    "subscribing to {} ({}; pending until it accepts)",
                    sub.actor_id, sub.kind
                );
            }
            RelayCommand::Remove { url: u } => {
                if !relays::unsubscribe(data, &relays::parse_url(&u)?).await? {
                    anyhow::bail!("no relay subscription to {u}");
                }
                println!("unsubscribed from {u}");
            }
            RelayCommand::List => {
                let relays = relays::list(state).await?;
                if relays.is_empty() {
                    println!("no relays");
                }
                for s in relays {
                    println!("{:<9} {:<13} {}", s.state, s.kind, s.actor_id);
                }
            }
        }
        Ok(())
    })
}

pub fn run(cmd: RemoteCommand, db: Db, config: Config) -> anyhow::Result<()> {
    with_data(db, config, async |state, data| {
        match cmd {
            RemoteCommand::Follow { target } => {
                let sub = subscribe::follow(data, &Target::parse(&target)?).await?;
                println!(
                    "following {} (pending until it accepts; the running server delivers the Follow)",
                    sub.actor_id
                );
            }
            RemoteCommand::Unfollow { target } => {
                if subscribe::unfollow(data, &Target::parse(&target)?).await? {
                    println!("unfollowed {target}; its catalog entries are gone");
                } else {
                    anyhow::bail!("no follow of {target}");
                }
            }
            RemoteCommand::List => {
                let subs = subscribe::list(state).await?;
                if subs.is_empty() {
                    println!("not following any remote stream");
                }
                for s in subs {
                    println!("{:<9} {:<6} {}", s.state, s.kind, s.actor_id);
                }
            }
        }
        Ok(())
    })
}
