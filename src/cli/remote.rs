//! `onair remote …`: the instance actor follows remote streams for the federated catalog. The
//! command resolves the actor and queues the Follow; the running server delivers it.

use clap::Subcommand;

use crate::{
    clock::Clock,
    config::Config,
    db::{Db, models::Subscription},
    federation::subscribe::{self, Target},
    server,
};

/// `onair remote …`
#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Follow a remote stream (`@handle@host`, `acct:handle@host` or its actor URL); its
    /// broadcasts enter the catalog once it accepts.
    Follow { target: String },
    /// Stop following a remote stream; its catalog entries go at once.
    Unfollow { target: String },
    /// The remote streams followed, and whether each accepted.
    List,
}

pub fn run(cmd: RemoteCommand, db: Db, config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let state = server::app_state(config, db, Clock::System).await?;
        let data = server::federation_config(&state).await?.to_request_data();
        match cmd {
            RemoteCommand::Follow { target } => {
                let sub = subscribe::follow(&data, &Target::parse(&target)?).await?;
                println!(
                    "following {} (pending until it accepts; the running server delivers the Follow)",
                    sub.actor_id
                );
            }
            RemoteCommand::Unfollow { target } => {
                if subscribe::unfollow(&data, &Target::parse(&target)?).await? {
                    println!("unfollowed {target}; its catalog entries are gone");
                } else {
                    anyhow::bail!("not following {target}");
                }
            }
            RemoteCommand::List => {
                let subs = state.db.read(Subscription::list).await?;
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
