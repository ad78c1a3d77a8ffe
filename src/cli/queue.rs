//! `onair queue …`

use clap::Subcommand;

use crate::db::{Db, models::Delivery};

/// `onair queue …`
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// How many deliveries are pending, delivered, failed or superseded.
    Status,
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
    }
    Ok(())
}
