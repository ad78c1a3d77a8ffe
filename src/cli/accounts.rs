//! `onair user …` and `onair token …`.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use clap::Subcommand;

use crate::{
    accounts::{self, UserName},
    clock::Clock,
    config::Config,
    db::{
        Db,
        models::{User, YpToken},
    },
    streams::icecast_setup,
    urls::Urls,
};

/// `onair user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from stdin; with none given (or a terminal),
    /// one is generated and printed.
    Create {
        /// The account's name: letters, digits, `_`, `-` and `.`.
        name: String,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
    },
    /// List accounts.
    List,
    /// Disable an account; its YP tokens stop working at once.
    Disable {
        /// The account's name.
        name: String,
    },
}

/// `onair token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a YP token and print the <directory> block and the YP URL (last line).
    Create {
        /// The account the token belongs to.
        user: String,
        /// What the token is for (which Icecast server).
        #[arg(long, default_value = "icecast")]
        label: String,
    },
    /// List a user's tokens.
    List {
        /// The account whose tokens to list.
        user: String,
    },
    /// Revoke a token by id; it stops working at once.
    Revoke {
        /// The token's id, as `onair token list` shows it.
        id: i64,
    },
}

pub fn run_user(cmd: UserCommand, db: &Db) -> anyhow::Result<()> {
    let now = Clock::System.now();
    match cmd {
        UserCommand::Create { name, admin } => {
            let name = UserName::parse(&name)?;
            let password = read_password_from_stdin()?;
            let (user, generated) =
                db.write_blocking(move |c| accounts::new_account(c, &name, password, admin, now))?;
            let role = if user.is_admin {
                "admin"
            } else {
                "broadcaster"
            };
            println!("created {role} {} (id {})", user.name, user.id);
            if let Some(password) = generated {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            println!(
                "{:>5}  {:<32}  {:<11}  {:<8}  created",
                "id", "name", "role", "status"
            );
            for u in db.read_blocking(User::list)? {
                let role = if u.is_admin { "admin" } else { "broadcaster" };
                let status = if u.disabled_at.is_some() {
                    "disabled"
                } else {
                    "active"
                };
                println!(
                    "{:>5}  {:<32}  {role:<11}  {status:<8}  {}",
                    u.id,
                    u.name,
                    u.created_at.format("%F %T")
                );
            }
        }
        UserCommand::Disable { name } => {
            let name = UserName::parse(&name)?;
            if db.write_blocking({
                let name = name.clone();
                move |c| accounts::disable_user(c, name.as_str(), None, now)
            })? {
                println!("disabled {}; its YP tokens no longer work", name.as_str());
            } else {
                println!("{} was already disabled", name.as_str());
            }
        }
    }
    Ok(())
}

pub fn run_token(cmd: TokenCommand, db: &Db, config: &Config) -> anyhow::Result<()> {
    let now = Clock::System.now();
    match cmd {
        TokenCommand::Create { user, label } => {
            let user = find_user(db, &user)?;
            let (token, secret) = db.write_blocking({
                let user = user.clone();
                move |c| accounts::new_token(c, &user, &label, now)
            })?;
            let url = Urls::new(config.url.clone()).yp(&secret);
            println!(
                "Created YP token {} ({}) for {}. It is shown only this once.",
                token.id, token.label, user.name
            );
            println!(
                "Paste this inside <icecast> in icecast.xml, with your server's public name in <hostname>"
            );
            println!("and your mount's name, then restart Icecast (or reconnect the source):");
            println!();
            println!("{}", icecast_setup(&url));
            println!();
            println!("{url}");
        }
        TokenCommand::List { user } => {
            let user = find_user(db, &user)?;
            let tokens = db.read_blocking(|c| YpToken::list_for_user(c, user.id))?;
            println!(
                "{:>5}  {:<24}  {:<19}  {:<19}  status",
                "id", "label", "created", "last used"
            );
            for t in tokens {
                let last = t
                    .last_used_at
                    .map_or_else(|| "never".to_owned(), |t| t.format("%F %T").to_string());
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:>5}  {:<24}  {}  {last:<19}  {status}",
                    t.id,
                    t.label,
                    t.created_at.format("%F %T")
                );
                // What Icecast last did with it, and why it was last refused: the answer to
                // "why is my stream not listed".
                match (t.last_request_at, &t.last_action) {
                    (Some(at), Some(action)) => println!(
                        "       last request {}: {action}, {}: {}",
                        at.format("%F %T"),
                        if t.last_ok == Some(true) {
                            "accepted"
                        } else {
                            "refused"
                        },
                        t.last_message.as_deref().unwrap_or("")
                    ),
                    _ => println!("       Icecast has not called with it yet"),
                }
                if t.last_ok == Some(true)
                    && let (Some(at), Some(action)) = (t.refused_at, &t.refused_action)
                {
                    println!(
                        "       last refusal {} ({action}): {}",
                        at.format("%F %T"),
                        t.refused_message.as_deref().unwrap_or("")
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            if db.write_blocking(move |c| accounts::revoke_token(c, id, None, now))? {
                println!("revoked token {id}; Icecast servers using it are refused from now on");
            } else {
                println!("token {id} was already revoked");
            }
        }
    }
    Ok(())
}

fn find_user(db: &Db, name: &str) -> anyhow::Result<User> {
    let name = UserName::parse(name)?;
    db.read_blocking(|c| User::find_by_name(c, name.as_str()))?
        .with_context(|| format!("no user {}", name.as_str()))
}

/// The first line of stdin when it is not a terminal and not empty.
fn read_password_from_stdin() -> anyhow::Result<Option<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    Ok(Some(password).filter(|p| !p.is_empty()))
}
