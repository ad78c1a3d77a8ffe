//! `onair block …`: domain and actor blocks. A running server sees a change within
//! `blocks::RELOAD`.

use clap::Subcommand;

use crate::{
    blocks,
    clock::Clock,
    db::{Db, models::Block},
};

/// `onair block …`
#[derive(Debug, Subcommand)]
pub enum BlockCommand {
    /// Block a domain (`example.com`, subdomains included; `host:port` for one instance) or an
    /// actor URL: its requests get 403, nothing is delivered to it, and its followers, catalog
    /// entries and subscriptions are removed.
    Add { target: String },
    /// Lift a block (what it removed stays removed).
    Remove { target: String },
    /// Every block.
    List,
}

pub fn run(cmd: BlockCommand, db: &Db) -> anyhow::Result<()> {
    match cmd {
        BlockCommand::Add { target } => {
            let (kind, value) = blocks::parse(&target)?;
            let (shown, now) = (value.clone(), Clock::System.now());
            let added = db.write_blocking(move |c| blocks::block(c, kind, &value, now))?;
            if added {
                println!("blocked {} {shown}", kind.as_str());
            } else {
                println!("{shown} was blocked already");
            }
        }
        BlockCommand::Remove { target } => {
            let (kind, value) = blocks::parse(&target)?;
            let shown = value.clone();
            if !db.write_blocking(move |c| Block::delete(c, kind, &value))? {
                anyhow::bail!("{shown} is not blocked");
            }
            println!("unblocked {shown}");
        }
        BlockCommand::List => {
            let rows = db.read_blocking(Block::list)?;
            if rows.is_empty() {
                println!("no blocks");
            }
            for b in rows {
                println!(
                    "{:<7} {}  {}",
                    b.kind,
                    b.created_at.format("%F %T"),
                    b.value
                );
            }
        }
    }
    Ok(())
}
