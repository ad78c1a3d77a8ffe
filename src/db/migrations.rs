//! Migrations, kept per backend under identical names and embedded in the binary.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{Backend, Db, DbConn};
use crate::error::{Error, Result};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Applies every pending migration and returns the names of those it applied.
///
/// Safe to call from several processes at start: on PostgreSQL an advisory lock serialises them,
/// on SQLite the write lock does.
pub fn run_pending(db: &Db) -> Result<Vec<String>> {
    db.read_blocking(|conn| {
        let (set, lock) = match db.backend() {
            Backend::Sqlite => (SQLITE, None),
            // Any fixed key: it only has to be the same in every onair process.
            Backend::Postgres => (POSTGRES, Some(0x006f_6e61_6972)),
        };
        if let Some(key) = lock {
            advisory_lock(conn, key, true)?;
        }
        let applied = conn
            .run_pending_migrations(set)
            .map(|v| v.iter().map(ToString::to_string).collect())
            .map_err(Error::Migration);
        if let Some(key) = lock {
            advisory_lock(conn, key, false)?;
        }
        applied
    })
}

fn advisory_lock(conn: &mut DbConn, key: i64, take: bool) -> Result<()> {
    use diesel::RunQueryDsl;
    let sql = if take {
        "SELECT pg_advisory_lock($1)"
    } else {
        "SELECT pg_advisory_unlock($1)"
    };
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::BigInt, _>(key)
        .execute(conn)?;
    Ok(())
}

/// The migration names of one backend, in order (for the test that keeps both lists equal).
pub fn names(backend: Backend) -> Vec<String> {
    let set = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    MigrationSource::<diesel::sqlite::Sqlite>::migrations(&set)
        .map(|v| v.iter().map(|m| m.name().to_string()).collect())
        .unwrap_or_default()
}

use diesel::migration::MigrationSource;

#[cfg(test)]
mod tests {
    use super::{Backend, names};

    #[test]
    fn both_backends_have_the_same_migrations() {
        let sqlite = names(Backend::Sqlite);
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, names(Backend::Postgres));
    }
}
