//! `onair follower …` and the approval switch of a stream.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use crate::{
    clock::Clock,
    config::Config,
    db::{
        Db,
        models::{Follower, Stream},
    },
    error::Error,
    federation::follows::{self, Decision},
    streams::{self, settings},
    urls::Urls,
};

/// `onair follower …`
#[derive(Debug, Subcommand)]
pub enum FollowerCommand {
    /// List a stream's followers and whether each is pending or accepted.
    List {
        /// The stream: `handle`, `@handle` or `@handle@host`, as its page shows it.
        handle: String,
    },
    /// Accept a pending follower (it is told with an Accept).
    Approve {
        /// The stream: `handle`, `@handle` or `@handle@host`, as its page shows it.
        handle: String,
        /// The follower's actor URL (`onair follower list` shows them).
        actor: String,
    },
    /// Refuse a pending follower (it is told with a Reject).
    Reject {
        /// The stream: `handle`, `@handle` or `@handle@host`, as its page shows it.
        handle: String,
        /// The follower's actor URL (`onair follower list` shows them).
        actor: String,
    },
    /// Remove a follower (it is told with a Reject, as Mastodon does).
    Remove {
        /// The stream: `handle`, `@handle` or `@handle@host`, as its page shows it.
        handle: String,
        /// The follower's actor URL (`onair follower list` shows them).
        actor: String,
    },
    /// Whether new follows of a stream wait for approval.
    Approval {
        /// The stream: `handle`, `@handle` or `@handle@host`, as its page shows it.
        handle: String,
        /// `on`: new followers wait for approval; `off`: they are accepted at once.
        setting: OnOff,
    },
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

pub fn run(cmd: FollowerCommand, db: &Db, config: &Config) -> anyhow::Result<()> {
    let urls = Urls::new(config.url.clone());
    let now = Clock::System.now();
    match cmd {
        FollowerCommand::List { handle } => {
            let stream = find(db, &urls, &handle)?;
            let followers = db.read_blocking(|c| Follower::list(c, stream.id))?;
            if followers.is_empty() {
                println!("no followers");
            }
            for f in followers {
                println!(
                    "{:<9} {}  {}",
                    f.state,
                    f.created_at.format("%F %T"),
                    f.actor_id
                );
            }
        }
        FollowerCommand::Approve { handle, actor } => {
            decide(db, &urls, &handle, &actor, Decision::Approve)?;
            println!("approved {actor}; an Accept is on its way");
        }
        FollowerCommand::Reject { handle, actor } => {
            decide(db, &urls, &handle, &actor, Decision::Reject)?;
            println!("{actor} no longer follows {handle}; a Reject is on its way");
        }
        FollowerCommand::Remove { handle, actor } => {
            decide(db, &urls, &handle, &actor, Decision::Remove)?;
            println!("{actor} no longer follows {handle}; a Reject is on its way");
        }
        FollowerCommand::Approval { handle, setting } => {
            let mut stream = find(db, &urls, &handle)?;
            let on = matches!(setting, OnOff::On);
            let changes = settings::Changes {
                approval: Some(on),
                ..Default::default()
            };
            let config = config.clone();
            db.write_blocking(move |c| changes.apply(c, &mut stream, &config, &urls, now))?;
            let state = if on { "on" } else { "off" };
            println!("follower approval for {handle}: {state}");
        }
    }
    Ok(())
}

fn find(db: &Db, urls: &Urls, handle: &str) -> anyhow::Result<Stream> {
    let handle = streams::typed_handle(handle, urls)?;
    let found = db.read_blocking(|c| Stream::find_with_broadcast(c, &handle))?;
    Ok(found.with_context(|| format!("no stream {handle}"))?.0)
}

/// Parses the stream, then leaves the rule to `follows::decide`.
fn decide(
    db: &Db,
    urls: &Urls,
    handle: &str,
    actor: &str,
    decision: Decision,
) -> anyhow::Result<()> {
    let stream = find(db, urls, handle)?;
    let (urls, actor_id, now) = (urls.clone(), actor.to_owned(), Clock::System.now());
    db.write_blocking(move |c| follows::decide(c, &stream, &actor_id, decision, &urls, now))
        .map_err(|e| match e {
            Error::NotFound(_) => anyhow::anyhow!("{actor} does not follow {handle}"),
            e => e.into(),
        })
}
