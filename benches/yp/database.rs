//! The run's own PostgreSQL database, made on the server `BENCH_DATABASE_URL` names and dropped
//! at the end: a database shared between runs keeps every earlier run's rows (and, where
//! autovacuum is off, their dead versions), and the figures would drift with them.

use diesel::{Connection, RunQueryDsl, pg::PgConnection};

pub struct FreshPg {
    pub url: String,
    admin: String,
    name: String,
}

impl FreshPg {
    pub fn create(admin: &str) -> Self {
        let name = format!("onair_yp_bench_{}", std::process::id());
        let mut conn = PgConnection::establish(admin).unwrap();
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap();
        let mut url = url::Url::parse(admin).unwrap();
        url.set_path(&name);
        Self {
            url: url.to_string(),
            admin: admin.to_owned(),
            name,
        }
    }
}

impl Drop for FreshPg {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin) {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = diesel::sql_query(drop).execute(&mut conn);
        }
    }
}
