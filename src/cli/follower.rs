//! `onair follower …` and the approval switch of a stream.

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};

use crate::{
    clock::Clock,
    config::Config,
    db::{
        Db,
        models::{Follower, Stream},
    },
    federation::follows,
    streams::settings,
    urls::Urls,
};

/// `onair follower …`
#[derive(Debug, Subcommand)]
pub enum FollowerCommand {
    /// List a stream's followers and whether each is pending or accepted.
    List { handle: String },
    /// Accept a pending follower (it is told with an Accept).
    Approve { handle: String, actor: String },
    /// Refuse a pending follower (it is told with a Reject).
    Reject { handle: String, actor: String },
    /// Remove a follower (it is told with a Reject, as Mastodon does).
    Remove { handle: String, actor: String },
    /// Whether new follows of a stream wait for approval.
    Approval { handle: String, setting: OnOff },
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
            let stream = find(db, &handle)?;
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
            let (stream, follower) = find_follower(db, &handle, &actor)?;
            if follower.state != crate::db::models::FollowerState::Pending {
                bail!("{actor} already follows {handle}");
            }
            db.write_blocking(move |c| follows::accept(c, &stream, &follower, &urls, now))?;
            println!("approved {actor}; an Accept is on its way");
        }
        FollowerCommand::Reject { handle, actor } | FollowerCommand::Remove { handle, actor } => {
            let (stream, follower) = find_follower(db, &handle, &actor)?;
            db.write_blocking(move |c| follows::reject(c, &stream, &follower, &urls, now))?;
            println!("{actor} no longer follows {handle}; a Reject is on its way");
        }
        FollowerCommand::Approval { handle, setting } => {
            let mut stream = find(db, &handle)?;
            let on = matches!(setting, OnOff::On);
            db.write_blocking(move |c| settings::set_approval(c, &mut stream, on, &urls, now))?;
            let state = if on { "on" } else { "off" };
            println!("follower approval for {handle}: {state}");
        }
    }
    Ok(())
}

fn find(db: &Db, handle: &str) -> anyhow::Result<Stream> {
    let handle = handle.trim().trim_start_matches('@').to_ascii_lowercase();
    let found = db.read_blocking(|c| Stream::find_with_broadcast(c, &handle))?;
    Ok(found.with_context(|| format!("no stream {handle}"))?.0)
}

fn find_follower(db: &Db, handle: &str, actor: &str) -> anyhow::Result<(Stream, Follower)> {
    let stream = find(db, handle)?;
    let follower = db.read_blocking(|c| Follower::find(c, stream.id, actor))?;
    let follower = follower.with_context(|| format!("{actor} does not follow {handle}"))?;
    Ok((stream, follower))
}
