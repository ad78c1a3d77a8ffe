//! Where a scenario's data lives: a database of its own, so that no run sees another's queue.

use std::sync::OnceLock;

use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use onair::db::{Db, migrations};

/// The local PostgreSQL server the two-process run creates its database on.
const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One scenario's database: a SQLite file in a temporary directory, a PostgreSQL database made
/// for the run (dropped with this value), or `BENCH_DATABASE_URL` as given (then `reused`).
pub struct BenchDb {
    pub url: String,
    /// The database was given and outlives the run: what the run leaves behind must be tidied.
    pub reused: bool,
    _dir: tempfile::TempDir,
    /// The admin URL and the name of a database this run created.
    created: Option<(String, String)>,
}

impl BenchDb {
    /// `BENCH_DATABASE_URL` if set, else a new SQLite file.
    pub fn fresh() -> Self {
        let dir = tempfile::tempdir().unwrap();
        match given_url() {
            Some(url) => Self {
                url,
                reused: true,
                _dir: dir,
                created: None,
            },
            None => Self {
                url: dir.path().join("fanout.db").display().to_string(),
                reused: false,
                _dir: dir,
                created: None,
            },
        }
    }

    /// `BENCH_DATABASE_URL` if it is a PostgreSQL URL, else a new database on the local server;
    /// the error says why there is none.
    pub fn postgres() -> Result<Self, String> {
        let dir = tempfile::tempdir().unwrap();
        if let Some(url) = given_url().filter(|u| is_postgres(u)) {
            PgConnection::establish(&url).map_err(|e| format!("{url}: {e}"))?;
            return Ok(Self {
                url,
                reused: true,
                _dir: dir,
                created: None,
            });
        }
        let mut admin = PgConnection::establish(POSTGRES_ADMIN_URL)
            .map_err(|e| format!("PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {e}"))?;
        let name = format!(
            "onair_bench_{}",
            onair::accounts::random_alphanumeric(12).to_lowercase()
        );
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
        let mut url = url::Url::parse(POSTGRES_ADMIN_URL).unwrap();
        url.set_path(&name);
        Ok(Self {
            url: url.to_string(),
            reused: false,
            _dir: dir,
            created: Some((POSTGRES_ADMIN_URL.to_owned(), name)),
        })
    }

    /// A pool on the database, migrated. A reused database is opened once per bench process:
    /// opening a SQLite file again right after the last scenario's pool and server went away
    /// can meet a lock (the first pragma runs before the busy timeout is set).
    pub fn connect(&self) -> Db {
        static REUSED: OnceLock<Db> = OnceLock::new();
        let open = || {
            let db = Db::connect(&self.url, 2).unwrap();
            migrations::run_pending(&db).unwrap();
            db
        };
        if self.reused {
            REUSED.get_or_init(open).clone()
        } else {
            open()
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.created
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            // FORCE: the bench's own pool may still hold connections.
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

fn given_url() -> Option<String> {
    std::env::var("BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}
