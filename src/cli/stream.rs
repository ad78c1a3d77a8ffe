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
        /// Only this account's streams.
        #[arg(long)]
        user: Option<String>,
    },
    /// Delete a stream that is not on air (frees a slot of the per-user limit).
    Delete {
        /// The stream: `handle`, `@handle` or `@handle@host`, as its page shows it.
        handle: String,
    },
    /// What followers are told when a broadcast ends: `delete` removes the post (default),
    /// `update` keeps it and marks it as over.
    OnEnd {
        /// The stream: `handle`, `@handle` or `@handle@host`, as its page shows it.
        handle: String,
        /// `delete` or `update`.
        behaviour: EndArg,
    },
    /// How the stream's posts read; each option left out stays as it is.
    Posts {
        /// The stream: `handle`, `@handle` or `@handle@host`, as its page shows it.
        handle: String,
        /// Whether title changes edit the go-live post (`on`: Mastodon notifies everyone who
        /// boosted it of each edit).
        #[arg(long)]
        title_edits: Option<Switch>,
        /// The posts' language (BCP 47, e.g. de); empty for the instance's.
        #[arg(long)]
        language: Option<String>,
        /// The go-live text with {name}, {title} and {link}; empty for the built-in one.
        #[arg(long)]
        template: Option<String>,
        /// A content warning shown before the post; empty for none.
        #[arg(long)]
        content_warning: Option<String>,
        /// Minutes before each scheduled show followers get a reminder post (5 to 1440; 0 for
        /// none).
        #[arg(long)]
        show_reminder: Option<i64>,
    },
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Switch {
    On,
    Off,
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
                "{:<30}  {:<16}  {:<8}  {:<40}  listen URL",
                "handle", "owner", "status", "name"
            );
            let (streams, users) =
                db.read_blocking(|c| Ok((Stream::list(c, owner)?, User::list(c)?)))?;
            for (s, b) in streams {
                let status = StreamStatus::of(b.as_ref()).as_str();
                let owner = users
                    .iter()
                    .find(|u| u.id == s.owner_id)
                    .map_or("?", |u| u.name.as_str());
                println!(
                    "{:<30}  {owner:<16}  {status:<8}  {:<40}  {}",
                    s.handle,
                    s.shown_name(),
                    s.listen_url
                );
            }
        }
        StreamCommand::Delete { handle } => {
            let handle = streams::typed_handle(&handle, &Urls::new(config.url.clone()))?;
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
            let handle = streams::typed_handle(&handle, &Urls::new(config.url.clone()))?;
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
        StreamCommand::Posts {
            handle,
            title_edits,
            language,
            template,
            content_warning,
            show_reminder,
        } => {
            let handle = streams::typed_handle(&handle, &Urls::new(config.url.clone()))?;
            let found = db.read_blocking(|c| Stream::find_with_broadcast(c, &handle))?;
            let mut stream = found.with_context(|| format!("no stream {handle}"))?.0;
            let posts = settings::Posts {
                title_edits: title_edits.map_or(stream.title_edits, |s| matches!(s, Switch::On)),
                language: language.unwrap_or_else(|| stream.language.clone()),
                template: template.unwrap_or_else(|| stream.post_template.clone()),
                content_warning: content_warning.unwrap_or_else(|| stream.content_warning.clone()),
            };
            let changes = settings::Changes {
                posts: Some(posts),
                show_reminder,
                ..Default::default()
            };
            let (config2, urls) = (config.clone(), Urls::new(config.url.clone()));
            let now = Clock::System.now();
            let stream = db.write_blocking(move |c| {
                changes.apply(c, &mut stream, &config2, &urls, now)?;
                Ok(stream)
            })?;
            println!(
                "posts of {handle}: title edits {}, language {}, text {:?}, content warning {:?}, show reminder {}",
                if stream.title_edits { "on" } else { "off" },
                match stream.language.as_str() {
                    "" => format!("{} (the instance's)", config.language),
                    own => own.to_owned(),
                },
                stream.post_template,
                stream.content_warning,
                match stream.show_reminder {
                    0 => "off".to_owned(),
                    m => format!("{m} minutes ahead"),
                }
            );
        }
    }
    Ok(())
}
