//! `onair queue …`

use clap::Subcommand;

use crate::{
    clock::Clock,
    db::{Db, models::Delivery},
    delivery,
};

/// `onair queue …`
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// How many deliveries are pending, delivered, failed or superseded, and the hosts left
    /// alone after repeated failures (open circuit breakers).
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
            let now = Clock::System.now();
            let open = db.read_blocking(|c| delivery::open_hosts(c, now))?;
            if open.is_empty() {
                println!("no host left alone (every circuit breaker closed)");
            } else {
                println!("hosts left alone (circuit breaker open):");
                println!(
                    "{:<40} {:<20} {:<20} why",
                    "host", "since (UTC)", "until (UTC)"
                );
            }
            for h in open {
                println!("{:<40} {:<20} {:<20} {}", h.host, h.since, h.until, h.why);
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
