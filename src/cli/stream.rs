//! `onair stream …`

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::{
    accounts::UserName,
    db::{
        Db,
        models::{Stream, User},
    },
    streams::StreamStatus,
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
}

pub fn run(cmd: StreamCommand, db: &Db) -> anyhow::Result<()> {
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
            db.write_blocking(|c| {
                let Some((stream, active)) = Stream::find_with_broadcast(c, &handle)? else {
                    return Ok(Err(format!("no stream {handle}")));
                };
                if active.is_some() {
                    return Ok(Err(format!(
                        "stream {handle} is on air; stop the source first"
                    )));
                }
                stream.delete(c).map(Ok)
            })?
            .or_else(|message| bail!(message))?;
            println!("deleted stream {handle}");
        }
    }
    Ok(())
}
