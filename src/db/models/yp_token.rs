use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::{
    db::{
        DbConn,
        schema::{users, yp_tokens},
    },
    error::{Error, Result},
};

/// A revocable secret in a broadcaster's YP URL. Only its hash is stored, and never loaded into
/// a row (only matched, or handed back to the caller who looked it up).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = yp_tokens)]
pub struct YpToken {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    /// The last request Icecast made with it (touches noted at most once a minute), and what it
    /// was told.
    pub last_request_at: Option<NaiveDateTime>,
    pub last_action: Option<String>,
    pub last_ok: Option<bool>,
    pub last_message: Option<String>,
    /// The last refusal, kept when later requests succeed.
    pub refused_at: Option<NaiveDateTime>,
    pub refused_action: Option<String>,
    pub refused_message: Option<String>,
}

/// One YP request and its answer, as the token's diagnostics keep it.
#[derive(Debug, Clone, Copy)]
pub struct YpExchange<'a> {
    pub action: &'a str,
    pub ok: bool,
    pub message: &'a str,
    pub at: NaiveDateTime,
}

/// Who a working token speaks for.
#[derive(Debug, Clone, Copy)]
pub struct TokenOwner {
    pub token_id: i64,
    pub user_id: i64,
    pub last_used_at: Option<NaiveDateTime>,
}

/// `last_used_at` is bookkeeping for people, so it is written at most once a minute per token
/// rather than on every touch.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::seconds(60);

impl YpToken {
    /// Stores a new token under its hash.
    pub fn insert(
        conn: &mut DbConn,
        user_id: i64,
        label: &str,
        hash: &str,
        now: NaiveDateTime,
    ) -> Result<Self> {
        diesel::insert_into(yp_tokens::table)
            .values((
                yp_tokens::user_id.eq(user_id),
                yp_tokens::label.eq(label),
                yp_tokens::token_hash.eq(hash),
                yp_tokens::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(yp_tokens::table
            .filter(yp_tokens::token_hash.eq(hash))
            .select(Self::as_select())
            .first(conn)?)
    }

    /// The owner of a token that is neither revoked nor held by a disabled account.
    pub fn find_owner(conn: &mut DbConn, hash: &str) -> Result<Option<TokenOwner>> {
        let found = yp_tokens::table
            .inner_join(users::table)
            .filter(yp_tokens::token_hash.eq(hash))
            .filter(yp_tokens::revoked_at.is_null())
            .filter(users::disabled_at.is_null())
            .select((yp_tokens::id, yp_tokens::user_id, yp_tokens::last_used_at))
            .first::<(i64, i64, Option<NaiveDateTime>)>(conn)
            .optional()?;
        Ok(found.map(|(token_id, user_id, last_used_at)| TokenOwner {
            token_id,
            user_id,
            last_used_at,
        }))
    }

    /// The owners of those of `hashes` that are working tokens (as [`YpToken::find_owner`]), each
    /// with the hash it was found by.
    pub fn find_owners(conn: &mut DbConn, hashes: &[&str]) -> Result<Vec<(String, TokenOwner)>> {
        let found = yp_tokens::table
            .inner_join(users::table)
            .filter(yp_tokens::token_hash.eq_any(hashes))
            .filter(yp_tokens::revoked_at.is_null())
            .filter(users::disabled_at.is_null())
            .select((
                yp_tokens::token_hash,
                yp_tokens::id,
                yp_tokens::user_id,
                yp_tokens::last_used_at,
            ))
            .load::<(String, i64, i64, Option<NaiveDateTime>)>(conn)?;
        Ok(found
            .into_iter()
            .map(|(hash, token_id, user_id, last_used_at)| {
                let owner = TokenOwner {
                    token_id,
                    user_id,
                    last_used_at,
                };
                (hash, owner)
            })
            .collect())
    }

    /// Notes that a token was used, unless that was noted less than a minute ago (no write then).
    pub fn touch_last_used(
        conn: &mut DbConn,
        owner: &TokenOwner,
        now: NaiveDateTime,
    ) -> Result<()> {
        if owner
            .last_used_at
            .is_some_and(|t| now - t < LAST_USED_RESOLUTION)
        {
            return Ok(());
        }
        // The same write notes the touch as the last request: touches are what Icecast sends
        // most, and the once-a-minute note is enough for a person reading it.
        diesel::update(yp_tokens::table.find(owner.token_id))
            .set((
                yp_tokens::last_used_at.eq(now),
                yp_tokens::last_request_at.eq(now),
                yp_tokens::last_action.eq("touch"),
                yp_tokens::last_ok.eq(true),
                yp_tokens::last_message.eq("Touched"),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Whether a token (revoked or not) has this hash.
    pub fn exists(conn: &mut DbConn, hash: &str) -> Result<bool> {
        let n: i64 = yp_tokens::table
            .filter(yp_tokens::token_hash.eq(hash))
            .count()
            .get_result(conn)?;
        Ok(n > 0)
    }

    /// Notes a request made with the token of `hash` (any token, revoked ones too: a revoked
    /// URL still in use is worth seeing) and its answer; a refusal is also kept as the last one.
    /// Returns whether the token exists.
    pub fn note_exchange(conn: &mut DbConn, hash: &str, x: YpExchange<'_>) -> Result<bool> {
        let target = yp_tokens::table.filter(yp_tokens::token_hash.eq(hash));
        let last = (
            yp_tokens::last_request_at.eq(x.at),
            yp_tokens::last_action.eq(x.action),
            yp_tokens::last_ok.eq(x.ok),
            yp_tokens::last_message.eq(x.message),
        );
        let n = if x.ok {
            diesel::update(target).set(last).execute(conn)?
        } else {
            diesel::update(target)
                .set((
                    last,
                    yp_tokens::refused_at.eq(x.at),
                    yp_tokens::refused_action.eq(x.action),
                    yp_tokens::refused_message.eq(x.message),
                ))
                .execute(conn)?
        };
        Ok(n > 0)
    }

    /// A user's tokens, oldest first, revoked ones included.
    pub fn list_for_user(conn: &mut DbConn, user_id: i64) -> Result<Vec<Self>> {
        Ok(yp_tokens::table
            .filter(yp_tokens::user_id.eq(user_id))
            .order(yp_tokens::id)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Revokes a token; it stops working at once. Returns false if it was already revoked.
    pub fn revoke(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<bool> {
        let exists = yp_tokens::table.find(id).count().get_result::<i64>(conn)? == 1;
        if !exists {
            return Err(Error::NotFound(format!("token {id}")));
        }
        let changed = diesel::update(
            yp_tokens::table
                .find(id)
                .filter(yp_tokens::revoked_at.is_null()),
        )
        .set(yp_tokens::revoked_at.eq(now))
        .execute(conn)?;
        Ok(changed == 1)
    }
}
