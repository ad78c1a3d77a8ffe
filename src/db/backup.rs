//! An online copy of a SQLite database. `VACUUM INTO` reads one consistent snapshot (WAL lets
//! the server keep writing meanwhile) and writes it, compacted, to a new file. PostgreSQL has its
//! own tools (`pg_dump`); nothing here runs there.

use std::path::Path;

use diesel::{RunQueryDsl, sql_types::Text};

use super::{Backend, Db, DbConn};
use crate::error::{Error, Result};

/// Writes a consistent copy of the SQLite database to `target`, a file that must not exist yet.
/// Runs on a pooled connection outside any transaction, so it never holds the write lock.
pub fn sqlite_into(db: &Db, target: &Path) -> Result<()> {
    if db.backend() != Backend::Sqlite {
        return Err(Error::Invalid(
            "a SQLite backup was asked of a PostgreSQL database".to_owned(),
        ));
    }
    let path = target
        .to_str()
        .ok_or_else(|| Error::Invalid(format!("{} is not a UTF-8 path", target.display())))?
        .to_owned();
    db.read_blocking(move |conn| {
        let DbConn::Sqlite(_) = conn else {
            return Err(Error::Invalid("not a SQLite connection".to_owned()));
        };
        // SQLite itself refuses a target that exists and is not empty, so a file created since
        // the caller looked is not overwritten either.
        diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(&path)
            .execute(conn)?;
        Ok(())
    })
}
