//! `onair block …`: domain and actor blocks. A running server sees a change within
//! `blocks::RELOAD`.

use clap::Subcommand;

use crate::{
    blocks::{self, Blocklist},
    clock::Clock,
    db::{Db, models::Block},
};

/// `onair block …`
#[derive(Debug, Subcommand)]
pub enum BlockCommand {
    /// Block a domain (`example.com`, subdomains included; `host:port` for one instance) or an
    /// actor URL: its requests get 403, nothing is delivered to it, and its followers, catalog
    /// entries and subscriptions are removed.
    Add {
        /// A domain, `host:port` or an actor URL.
        target: String,
    },
    /// Lift a block (what it removed stays removed).
    Remove {
        /// The domain, `host:port` or actor URL as blocked.
        target: String,
    },
    /// Every block.
    List,
}

pub fn run(cmd: BlockCommand, db: &Db) -> anyhow::Result<()> {
    // This process's own copy; a running server reads the table again within `blocks::RELOAD`.
    let list = Blocklist::new(db.clone(), Vec::new());
    let runtime = || tokio::runtime::Runtime::new();
    match cmd {
        BlockCommand::Add { target } => {
            let added = runtime()?.block_on(blocks::add(&list, &target, Clock::System.now()))?;
            if added.new {
                println!("blocked {} {}", added.kind.as_str(), added.value);
            } else {
                println!("{} was blocked already", added.value);
            }
        }
        BlockCommand::Remove { target } => {
            let (shown, removed) = runtime()?.block_on(blocks::remove(&list, &target))?;
            if !removed {
                anyhow::bail!("no block of {shown}");
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
