//! `onair show …`: scheduled shows of a stream, as the dashboard and the JSON API make them.

use clap::Subcommand;

use anyhow::Context;

use crate::{
    clock::Clock,
    config::Config,
    db::{
        Db,
        models::{Show, Stream},
    },
    streams::{
        self,
        shows::{self, Schedule, ShowInput},
    },
    urls::Urls,
};

/// `onair show …`
#[derive(Debug, Subcommand)]
pub enum ShowCommand {
    /// Schedule a show; its followers get the Event.
    Add {
        /// The stream: `handle`, `@handle` or `@handle@host`.
        handle: String,
        /// The show's title.
        #[arg(long)]
        title: String,
        /// When it starts, in its time zone: `2026-12-10 20:00`.
        #[arg(long)]
        start: String,
        /// How long it lasts, in minutes (or give --end).
        #[arg(long)]
        duration: Option<i64>,
        /// When it ends, in its time zone (or give --duration).
        #[arg(long, default_value = "")]
        end: String,
        /// Its IANA time zone: `Europe/Berlin`.
        #[arg(long)]
        zone: String,
        /// Every week at the same local time.
        #[arg(long)]
        weekly: bool,
        /// A local date a weekly show skips (`2026-12-24`); repeat for more.
        #[arg(long = "except")]
        exceptions: Vec<String>,
        /// What the show is about.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// A stream's scheduled shows with their next dates, or every stream's.
    List {
        /// Only this stream's.
        handle: Option<String>,
    },
    /// Cancel a show; its followers get a Delete of the Event.
    Cancel {
        /// The show's id, as `onair show list` shows it.
        id: i64,
    },
}

pub fn run(cmd: ShowCommand, db: &Db, config: &Config) -> anyhow::Result<()> {
    let urls = Urls::new(config.url.clone());
    let now = Clock::System.now();
    let stream_of = |raw: &str| -> anyhow::Result<Stream> {
        let handle = streams::typed_handle(raw, &urls)?;
        let found = db.read_blocking(|c| Stream::find_with_broadcast(c, &handle))?;
        Ok(found.with_context(|| format!("no stream {handle}"))?.0)
    };
    match cmd {
        ShowCommand::Add {
            handle,
            title,
            start,
            duration,
            end,
            zone,
            weekly,
            exceptions,
            description,
        } => {
            let stream = stream_of(&handle)?;
            let input = ShowInput {
                title,
                description,
                start,
                end,
                duration_minutes: duration,
                time_zone: zone,
                weekly,
                exceptions,
            };
            let u = urls.clone();
            let show = db.write_blocking(move |c| shows::add(c, &stream, &input, &u, now))?;
            println!(
                "scheduled show {} ({}): {}",
                show.id,
                show.title,
                urls.show(show.id)
            );
        }
        ShowCommand::List { handle } => {
            let stream = handle.as_deref().map(stream_of).transpose()?;
            let all = db.read_blocking(|c| match &stream {
                Some(s) => Show::active_for_stream(c, s.id),
                None => Show::active(c),
            })?;
            println!(
                "{:>5}  {:<32}  {:<26}  {:<18}  next",
                "id", "title", "when", "zone"
            );
            for show in all {
                let schedule = Schedule::of(&show)?;
                let next = schedule.next(now.and_utc()).map_or_else(
                    || "over".to_owned(),
                    |o| o.start.format("%F %H:%M UTC").to_string(),
                );
                let when = format!(
                    "{} {}m{}",
                    show.starts_local.format("%F %H:%M"),
                    show.duration_minutes,
                    if show.weekly { " weekly" } else { "" }
                );
                println!(
                    "{:>5}  {:<32}  {when:<26}  {:<18}  {next}",
                    show.id, show.title, show.time_zone
                );
            }
        }
        ShowCommand::Cancel { id } => {
            let show = db
                .read_blocking(move |c| Show::find(c, id))?
                .with_context(|| format!("no show {id}"))?;
            let stream = db
                .read_blocking(move |c| Stream::find(c, show.stream_id))?
                .with_context(|| format!("no show {id}"))?;
            let u = urls.clone();
            db.write_blocking(move |c| shows::cancel(c, &stream, id, &u, now))?;
            println!("cancelled show {id}; its followers are told");
        }
    }
    Ok(())
}
