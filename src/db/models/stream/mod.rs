mod listing;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{escape_like, stored_text};
use crate::{
    db::{
        DbConn,
        schema::{broadcasts, followers, show_reminders, shows, stream_keys, streams},
    },
    error::Result,
};

/// A local stream: one Icecast mount of one broadcaster, identified by (owner, listen URL).
/// Its handle never changes once minted.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = streams)]
pub struct Stream {
    pub id: i64,
    pub owner_id: i64,
    pub handle: String,
    pub listen_url: String,
    pub name: String,
    pub description: String,
    /// Comma-separated; see [`Stream::genre_list`].
    pub genres: String,
    pub homepage: String,
    pub content_type: String,
    pub codec: String,
    pub bitrate: Option<i32>,
    pub samplerate: Option<i32>,
    pub channels: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Follows wait for the broadcaster's approval (`manuallyApprovesFollowers`).
    pub approve_followers: bool,
    #[diesel(deserialize_as = String)]
    pub on_end: OnEnd,
    /// An https address of the stream set by its owner (Icecast reports http only).
    pub https_listen_url: Option<String>,
    /// The owner's name for the stream, over Icecast's (empty: Icecast's).
    pub display_name: String,
    /// The owner's description, over Icecast's (empty: Icecast's).
    pub display_description: String,
    /// The stream's picture (https).
    pub icon_url: Option<String>,
    /// Title changes edit the go-live post (an `Update` at most every `update_interval`).
    pub title_edits: bool,
    /// The posts' language (BCP 47), empty for the instance's.
    pub language: String,
    /// The go-live text with `{name}`, `{title}` and `{link}`, empty for the built-in one.
    pub post_template: String,
    /// A content warning: the posts are `sensitive` with it as `summary` (empty: none).
    pub content_warning: String,
    /// The actor's header image (https).
    pub header_url: Option<String>,
    /// Minutes before a show its followers get a reminder post (0: none).
    pub show_reminder: i32,
}

stored_text! {
    /// What followers are told when a broadcast of the stream ends (stored, and spelt so on the
    /// command line).
    #[derive(Default)]
    pub enum OnEnd("end behaviour") {
        /// `Delete`: the post disappears from timelines (the default, as a live post is only news
        /// while it is live).
        #[default]
        Delete = "delete",
        /// `Update`: the post stays and says the stream was on air.
        Update = "update",
    }
}

/// What a YP `add` says about a stream; replaced as a whole on every add.
#[derive(Debug, Clone, PartialEq, Eq, AsChangeset, Insertable)]
#[diesel(table_name = streams)]
pub struct StreamProfile {
    pub name: String,
    pub description: String,
    pub genres: String,
    pub homepage: String,
    pub content_type: String,
    pub codec: String,
    pub bitrate: Option<i32>,
    pub samplerate: Option<i32>,
    pub channels: Option<i32>,
}

/// How a stream's posts read: the broadcaster's choices, written together.
#[derive(Debug, Clone, Default, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = streams)]
pub struct PostStyle {
    pub title_edits: bool,
    pub language: String,
    pub post_template: String,
    pub content_warning: String,
}

/// A stream about to be created.
#[derive(Debug, Insertable)]
#[diesel(table_name = streams)]
pub struct NewStream<'a> {
    pub owner_id: i64,
    pub handle: &'a str,
    pub listen_url: &'a str,
    #[diesel(embed)]
    pub profile: StreamProfile,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Stream {
    /// The genres as a list.
    pub fn genre_list(&self) -> Vec<&str> {
        self.genres.split(',').filter(|g| !g.is_empty()).collect()
    }

    /// The name people see: the owner's, else Icecast's.
    pub fn shown_name(&self) -> &str {
        if self.display_name.is_empty() {
            &self.name
        } else {
            &self.display_name
        }
    }

    /// The description people see: the owner's, else Icecast's.
    pub fn shown_description(&self) -> &str {
        if self.display_description.is_empty() {
            &self.description
        } else {
            &self.display_description
        }
    }

    /// Sets what the owner chose over Icecast's profile.
    pub fn set_overrides(
        &self,
        conn: &mut DbConn,
        name: &str,
        description: &str,
        icon: Option<&str>,
    ) -> Result<()> {
        diesel::update(streams::table.find(self.id))
            .set((
                streams::display_name.eq(name),
                streams::display_description.eq(description),
                streams::icon_url.eq(icon),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Creates a stream and returns it.
    pub fn insert(conn: &mut DbConn, new: &NewStream<'_>) -> Result<Self> {
        diesel::insert_into(streams::table)
            .values(new)
            .execute(conn)?;
        Ok(streams::table
            .filter(streams::handle.eq(new.handle))
            .select(Self::as_select())
            .first(conn)?)
    }

    /// The owner's stream at this listen URL.
    pub fn find_by_listen_url(
        conn: &mut DbConn,
        owner_id: i64,
        listen_url: &str,
    ) -> Result<Option<Self>> {
        Ok(streams::table
            .filter(streams::owner_id.eq(owner_id))
            .filter(streams::listen_url.eq(listen_url))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Sets how the stream's posts read.
    pub fn set_post_style(&self, conn: &mut DbConn, style: &PostStyle) -> Result<()> {
        diesel::update(streams::table.find(self.id))
            .set(style)
            .execute(conn)?;
        Ok(())
    }

    /// Sets or clears the header image.
    pub fn set_header_url(&self, conn: &mut DbConn, url: Option<&str>) -> Result<()> {
        diesel::update(streams::table.find(self.id))
            .set(streams::header_url.eq(url))
            .execute(conn)?;
        Ok(())
    }

    /// How the stream's posts read, as stored.
    pub fn post_style(&self) -> PostStyle {
        PostStyle {
            title_edits: self.title_edits,
            language: self.language.clone(),
            post_template: self.post_template.clone(),
            content_warning: self.content_warning.clone(),
        }
    }

    /// How many minutes ahead of each show followers are reminded (0: never).
    pub fn set_show_reminder(&self, conn: &mut DbConn, minutes: i32) -> Result<()> {
        diesel::update(streams::table.find(self.id))
            .set(streams::show_reminder.eq(minutes))
            .execute(conn)?;
        Ok(())
    }

    /// Turns follower approval on or off.
    pub fn set_approve_followers(&self, conn: &mut DbConn, on: bool) -> Result<()> {
        diesel::update(streams::table.find(self.id))
            .set(streams::approve_followers.eq(on))
            .execute(conn)?;
        Ok(())
    }

    /// Chooses what followers are told when a broadcast ends.
    pub fn set_on_end(&self, conn: &mut DbConn, on_end: OnEnd) -> Result<()> {
        diesel::update(streams::table.find(self.id))
            .set(streams::on_end.eq(on_end.as_str()))
            .execute(conn)?;
        Ok(())
    }

    /// Sets or clears the https listen URL.
    pub fn set_https_listen_url(&self, conn: &mut DbConn, url: Option<&str>) -> Result<()> {
        diesel::update(streams::table.find(self.id))
            .set(streams::https_listen_url.eq(url))
            .execute(conn)?;
        Ok(())
    }

    /// One stream by id.
    pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<Self>> {
        Ok(streams::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// The handle of a stream by id.
    pub fn handle_of(conn: &mut DbConn, id: i64) -> Result<Option<String>> {
        Ok(streams::table
            .find(id)
            .select(streams::handle)
            .first(conn)
            .optional()?)
    }

    /// How many streams there are.
    pub fn count(conn: &mut DbConn) -> Result<i64> {
        Ok(streams::table.count().get_result(conn)?)
    }

    /// How many streams an account has.
    pub fn count_for_owner(conn: &mut DbConn, owner_id: i64) -> Result<i64> {
        Ok(streams::table
            .filter(streams::owner_id.eq(owner_id))
            .count()
            .get_result(conn)?)
    }

    /// Handles already taken that start with `prefix` (to pick a free one).
    pub fn handles_with_prefix(conn: &mut DbConn, prefix: &str) -> Result<Vec<String>> {
        let pattern = format!("{}%", escape_like(prefix));
        Ok(streams::table
            .filter(streams::handle.like(pattern).escape('\\'))
            .select(streams::handle)
            .load(conn)?)
    }

    /// Replaces the profile, here and in the row, when the broadcaster changed it; returns
    /// whether it changed (a no-op write is skipped).
    pub fn update_profile(
        &mut self,
        conn: &mut DbConn,
        profile: &StreamProfile,
        now: NaiveDateTime,
    ) -> Result<bool> {
        if self.profile() == *profile {
            return Ok(false);
        }
        diesel::update(streams::table.find(self.id))
            .set((profile, streams::updated_at.eq(now)))
            .execute(conn)?;
        let p = profile.clone();
        (self.name, self.description, self.genres, self.homepage) =
            (p.name, p.description, p.genres, p.homepage);
        (self.content_type, self.codec) = (p.content_type, p.codec);
        (self.bitrate, self.samplerate, self.channels) = (p.bitrate, p.samplerate, p.channels);
        self.updated_at = now;
        Ok(true)
    }

    /// The profile part of the row.
    pub fn profile(&self) -> StreamProfile {
        StreamProfile {
            name: self.name.clone(),
            description: self.description.clone(),
            genres: self.genres.clone(),
            homepage: self.homepage.clone(),
            content_type: self.content_type.clone(),
            codec: self.codec.clone(),
            bitrate: self.bitrate,
            samplerate: self.samplerate,
            channels: self.channels,
        }
    }

    /// Deletes a stream, its past broadcasts and its followers.
    pub fn delete(&self, conn: &mut DbConn) -> Result<()> {
        diesel::delete(followers::table.filter(followers::stream_id.eq(self.id))).execute(conn)?;
        diesel::delete(stream_keys::table.filter(stream_keys::stream_id.eq(self.id)))
            .execute(conn)?;
        diesel::delete(broadcasts::table.filter(broadcasts::stream_id.eq(self.id)))
            .execute(conn)?;
        // After the broadcasts, which may name a show, and the shows' reminders.
        let ours = shows::table
            .filter(shows::stream_id.eq(self.id))
            .select(shows::id);
        diesel::delete(show_reminders::table.filter(show_reminders::show_id.eq_any(ours)))
            .execute(conn)?;
        diesel::delete(shows::table.filter(shows::stream_id.eq(self.id))).execute(conn)?;
        diesel::delete(streams::table.find(self.id)).execute(conn)?;
        Ok(())
    }
}
