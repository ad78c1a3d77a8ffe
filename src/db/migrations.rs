//! Migrations, kept per backend under identical names and embedded in the binary.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{Backend, Db, DbConn};
use crate::error::{Error, Result};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Applies every pending migration and returns the names of those it applied.
///
/// Safe to call from several processes at once (several `serve` starting together after an
/// upgrade, or a command beside a starting server): each takes a lock before it reads which
/// migrations are pending and holds it until they are applied, so the others wait and then find
/// nothing left to do. On PostgreSQL the lock is a session advisory lock; on SQLite it is the
/// write lock, taken at once (`BEGIN IMMEDIATE`, which waits out the busy timeout) with every
/// migration inside that one transaction.
pub fn run_pending(db: &Db) -> Result<Vec<String>> {
    db.read_blocking(|conn| match conn {
        DbConn::Sqlite(c) => c.immediate_transaction(|c| apply(c, SQLITE)),
        DbConn::Pg(_) => {
            advisory_lock(conn, LOCK, true)?;
            let applied = apply(conn, POSTGRES);
            // Unlocked whatever happened: the connection goes back to the pool.
            advisory_lock(conn, LOCK, false)?;
            applied
        }
    })
}

/// The advisory lock's key: any fixed number, the same in every onair process.
const LOCK: i64 = 0x006f_6e61_6972;

fn apply<C>(conn: &mut C, set: EmbeddedMigrations) -> Result<Vec<String>>
where
    C: MigrationHarness<C::Backend> + diesel::Connection,
{
    conn.run_pending_migrations(set)
        .map(|v| v.iter().map(ToString::to_string).collect())
        .map_err(Error::Migration)
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
