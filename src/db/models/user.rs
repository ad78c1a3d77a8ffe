use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{DbConn, schema::users},
    error::{Error, Result},
};

/// An account: a broadcaster, or an admin.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
    pub disabled_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for User {
    // By hand: the password hash stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl User {
    /// Creates an account; a taken name is a [`Error::Conflict`].
    pub fn insert(
        conn: &mut DbConn,
        name: &str,
        password_hash: &str,
        is_admin: bool,
        now: NaiveDateTime,
    ) -> Result<Self> {
        let inserted = diesel::insert_into(users::table)
            .values((
                users::name.eq(name),
                users::password_hash.eq(password_hash),
                users::is_admin.eq(is_admin),
                users::created_at.eq(now),
            ))
            .execute(conn);
        match inserted.map_err(Error::from) {
            Err(e) if e.is_unique_violation() => {
                Err(Error::Conflict(format!("user {name} already exists")))
            }
            other => other,
        }?;
        Self::find_by_name(conn, name)?.ok_or_else(|| Error::NotFound(format!("user {name}")))
    }

    /// The account called `name`.
    pub fn find_by_name(conn: &mut DbConn, name: &str) -> Result<Option<Self>> {
        Ok(users::table
            .filter(users::name.eq(name))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Every account, oldest first.
    pub fn list(conn: &mut DbConn) -> Result<Vec<Self>> {
        Ok(users::table
            .order(users::id)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// How many accounts exist (zero means a first start).
    pub fn count(conn: &mut DbConn) -> Result<i64> {
        Ok(users::table.count().get_result(conn)?)
    }

    /// Disables an account; its YP tokens stop working at once. Returns false if already disabled.
    pub fn disable(conn: &mut DbConn, name: &str, now: NaiveDateTime) -> Result<bool> {
        let user = Self::find_by_name(conn, name)?
            .ok_or_else(|| Error::NotFound(format!("user {name}")))?;
        let changed = diesel::update(
            users::table
                .find(user.id)
                .filter(users::disabled_at.is_null()),
        )
        .set(users::disabled_at.eq(now))
        .execute(conn)?;
        Ok(changed == 1)
    }
}
