//! `onair queue …`

use clap::Subcommand;

use crate::{
    clock::Clock,
    db::{Db, models::Delivery},
};

/// `onair queue …`
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// How many deliveries are pending, delivered, failed or superseded.
    Status,
    /// Try failed deliveries again, now.
    Retry,
    /// Delete finished deliveries (and activities nothing refers to any more).
    Purge,
}

pub fn run(cmd: QueueCommand, db: &Db) -> anyhow::Result<()> {
    match cmd {
        QueueCommand::Status => {
            let counts = db.read_blocking(Delivery::count_by_state)?;
            if counts.is_empty() {
                println!("no deliveries");
            }
            for (state, n) in counts {
                println!("{state:<11} {n}");
            }
        }
        QueueCommand::Retry => {
            let now = Clock::System.now();
            let n = db.write_blocking(move |c| Delivery::retry_failed(c, now))?;
            println!("{n} failed deliveries queued again");
        }
        QueueCommand::Purge => {
            let n = db.write_blocking(Delivery::purge_finished)?;
            println!("{n} finished deliveries deleted");
        }
    }
    Ok(())
}
