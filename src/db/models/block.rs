use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{DbConn, schema::blocks},
    error::Result,
};

/// What a block names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// A whole instance, by host name.
    Domain,
    /// One actor, by id.
    Actor,
}

impl BlockKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Domain => "domain",
            Self::Actor => "actor",
        }
    }
}

/// A blocked domain or actor.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = blocks)]
pub struct Block {
    pub id: i64,
    pub kind: String,
    pub value: String,
    pub created_at: NaiveDateTime,
}

impl Block {
    /// Adds a block; returns false when it existed already.
    pub fn insert(
        conn: &mut DbConn,
        kind: BlockKind,
        value: &str,
        now: NaiveDateTime,
    ) -> Result<bool> {
        let exists = diesel::select(diesel::dsl::exists(
            blocks::table
                .filter(blocks::kind.eq(kind.as_str()))
                .filter(blocks::value.eq(value)),
        ))
        .get_result(conn)?;
        if exists {
            return Ok(false);
        }
        diesel::insert_into(blocks::table)
            .values((
                blocks::kind.eq(kind.as_str()),
                blocks::value.eq(value),
                blocks::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(true)
    }

    /// Lifts a block; returns whether there was one.
    pub fn delete(conn: &mut DbConn, kind: BlockKind, value: &str) -> Result<bool> {
        let n = diesel::delete(
            blocks::table
                .filter(blocks::kind.eq(kind.as_str()))
                .filter(blocks::value.eq(value)),
        )
        .execute(conn)?;
        Ok(n > 0)
    }

    /// Every block, oldest first.
    pub fn list(conn: &mut DbConn) -> Result<Vec<Self>> {
        Ok(blocks::table
            .order(blocks::id)
            .select(Self::as_select())
            .load(conn)?)
    }
}
