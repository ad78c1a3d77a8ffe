//! `onair backup FILE`

use std::path::Path;

use anyhow::{Context, bail};

use crate::{
    config::Config,
    db::{Backend, Db, backup},
};

/// Copies the SQLite database to `file` while the server may be running. Migrations are not
/// run first: a backup taken before an upgrade must be of the database as it was.
pub fn run(config: &Config, file: &Path) -> anyhow::Result<()> {
    let (backend, source) = Backend::from_url(&config.database_url);
    if backend == Backend::Postgres {
        bail!(
            "onair backup copies a SQLite database, and this one is PostgreSQL: use its own \
             tool, which also runs while onair serves:\n  pg_dump --format=custom --file={} {}\n\
             and to restore it into an empty database:\n  pg_restore --no-owner --dbname={} {}",
            quoted(&file.display().to_string()),
            quoted(&without_password(&source)),
            quoted(&without_password(&source)),
            quoted(&file.display().to_string()),
        );
    }
    if !Path::new(&source).exists() {
        bail!(
            "no database at {source}: run this where `onair serve` runs, or set \
             ONAIR_DATABASE_URL"
        );
    }
    if file.symlink_metadata().is_ok() {
        bail!(
            "{} already exists; a backup never overwrites a file: choose a new name",
            file.display()
        );
    }
    let db = Db::connect(&config.database_url, 2)?;
    backup::sqlite_into(&db, file)
        .with_context(|| format!("backing up {source} to {}", file.display()))?;
    // SQLite does not sync the file it wrote; a backup should survive a power cut.
    let written = std::fs::File::open(file)
        .and_then(|f| f.sync_all().and_then(|()| f.metadata()))
        .with_context(|| format!("reading back {}", file.display()))?;
    println!(
        "backed up {source} to {} ({})",
        file.display(),
        size(written.len())
    );
    Ok(())
}

/// A database URL fit to print: the password (if any) left out.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// `s` as one shell word.
fn quoted(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:@=,+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Bytes, and the same in KiB or MiB when that reads better.
fn size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss, reason = "one decimal is shown")]
    let b = bytes as f64;
    if bytes >= 1024 * 1024 {
        format!("{bytes} bytes, {:.1} MiB", b / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{bytes} bytes, {:.1} KiB", b / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::{quoted, size, without_password};

    #[test]
    fn printed_commands_hide_the_password_and_quote_what_needs_it() {
        assert_eq!(
            without_password("postgres://onair:s3cret@db.example:5432/onair"),
            "postgres://onair@db.example:5432/onair"
        );
        assert_eq!(
            without_password("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(quoted("/var/backups/onair.dump"), "/var/backups/onair.dump");
        assert_eq!(quoted("my backup's.dump"), r"'my backup'\''s.dump'");
        assert_eq!(size(512), "512 bytes");
        assert_eq!(size(4096), "4096 bytes, 4.0 KiB");
        assert_eq!(size(3 * 1024 * 1024), "3145728 bytes, 3.0 MiB");
    }
}
