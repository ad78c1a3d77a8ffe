//! `onair stream …`

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};

use crate::{
    accounts::UserName,
    clock::Clock,
    config::Config,
    db::{
        Db,
        models::{OnEnd, Stream, User},
    },
    streams::{self, StreamStatus, settings},
    urls::Urls,
};

/// `onair stream …`
#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// List streams, all or one user's.
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Delete a stream that is not on air (frees a slot of the per-user limit).
    Delete { handle: String },
    /// What followers are told when a broadcast ends: `delete` removes the post (default),
    /// `update` keeps it and marks it as over.
    OnEnd { handle: String, behaviour: EndArg },
}

/// `delete` or `update`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EndArg {
    Delete,
    Update,
}

pub fn run(cmd: StreamCommand, db: &Db, config: &Config) -> anyhow::Result<()> {
    match cmd {
        StreamCommand::List { user } => {
            let owner = match user {
                Some(name) => {
                    let name = UserName::parse(&name)?;
                    let user = db.read_blocking(|c| User::find_by_name(c, name.as_str()))?;
                    Some(
                        user.with_context(|| format!("no user {}", name.as_str()))?
                            .id,
                    )
                }
                None => None,
            };
            println!(
                "{:<30}  {:<8}  {:<40}  listen URL",
                "handle", "status", "name"
            );
            for (s, b) in db.read_blocking(|c| Stream::list(c, owner))? {
                let status = StreamStatus::of(b.as_ref()).as_str();
                println!(
                    "{:<30}  {status:<8}  {:<40}  {}",
                    s.handle, s.name, s.listen_url
                );
            }
        }
        StreamCommand::Delete { handle } => {
            let handle = streams::typed_handle(&handle);
            let key = handle.clone();
            let refusal = db.write_blocking(move |c| {
                Ok(match Stream::find_with_broadcast(c, &key)? {
                    None => Some(format!("no stream {key}")),
                    Some((_, Some(_))) => {
                        Some(format!("stream {key} is on air; stop the source first"))
                    }
                    Some((stream, None)) => stream.delete(c).map(|()| None)?,
                })
            })?;
            if let Some(message) = refusal {
                bail!(message);
            }
            println!("deleted stream {handle}");
        }
        StreamCommand::OnEnd { handle, behaviour } => {
            let on_end = match behaviour {
                EndArg::Delete => OnEnd::Delete,
                EndArg::Update => OnEnd::Update,
            };
            let handle = streams::typed_handle(&handle);
            let found = db.read_blocking(|c| Stream::find_with_broadcast(c, &handle))?;
            let mut stream = found.with_context(|| format!("no stream {handle}"))?.0;
            let changes = settings::Changes {
                on_end: Some(on_end),
                ..Default::default()
            };
            let (config, urls) = (config.clone(), Urls::new(config.url.clone()));
            let now = Clock::System.now();
            db.write_blocking(move |c| changes.apply(c, &mut stream, &config, &urls, now))?;
            println!(
                "broadcasts of {handle} that end from now on: {}",
                on_end.as_str()
            );
        }
    }
    Ok(())
}
