//! The YP directory's use cases: add, touch (in batches: `touch.rs`), remove and the reaper, each one
//! write transaction.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::Connection;

use super::{
    StreamStatus, handle, tell_pages,
    touch::{Touch, Touches},
    yp_form::{AddRequest, Sid, TouchRequest},
};
use crate::{
    accounts,
    clock::Clock,
    config::Config,
    db::{
        Db, DbConn,
        models::{Broadcast, BroadcastState, NewStream, Stream, YpExchange, YpToken},
    },
    error::{Error, Result},
    federation::announce,
    state::AppState,
    urls::Urls,
};

/// How the directory paces and expires listings (from [`Config`]).
#[derive(Debug, Clone)]
pub struct DirectorySettings {
    /// Seconds sent to Icecast as `TouchFreq`.
    pub touch_freq: u32,
    /// A live broadcast with no touch for this long is ended by the reaper.
    pub silence_limit: TimeDelta,
    /// How long an ending broadcast waits for a re-add.
    pub end_grace: TimeDelta,
    /// Streams one account may register.
    pub max_streams_per_user: i64,
    /// At most one title Update per broadcast in this span.
    pub update_interval: TimeDelta,
    /// The posts' language for streams whose broadcaster chose none.
    pub language: String,
    /// How early a broadcast may start and still be a scheduled show.
    pub show_early: TimeDelta,
}

impl DirectorySettings {
    /// Reads the YP settings.
    pub fn from_config(config: &Config) -> Self {
        let yp = &config.yp;
        Self {
            touch_freq: yp.touch_freq,
            silence_limit: TimeDelta::seconds(
                i64::from(yp.touch_freq) * i64::from(yp.missed_touches),
            ),
            end_grace: TimeDelta::seconds(i64::from(yp.end_grace)),
            update_interval: TimeDelta::seconds(i64::from(config.update_interval)),
            language: config.language.clone(),
            show_early: config.show_window(),
            max_streams_per_user: i64::from(config.max_streams_per_user),
        }
    }
}

impl DirectorySettings {
    /// A broadcast in `state` whose last sign of life is older than this is over.
    fn idle_cutoff(&self, state: BroadcastState, now: NaiveDateTime) -> NaiveDateTime {
        match state {
            BroadcastState::Ending => now - self.end_grace,
            BroadcastState::Live | BroadcastState::Ended => now - self.silence_limit,
        }
    }
}

/// The outcome of a successful add.
#[derive(Debug, Clone)]
pub struct Added {
    pub sid: Sid,
    pub handle: String,
    /// False when an ending or live broadcast continued (no new announcement).
    pub new_broadcast: bool,
    pub broadcast_id: i64,
}

/// What one reaper pass ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reaped {
    /// Live broadcasts that stopped being touched.
    pub silent: usize,
    /// Ending broadcasts whose grace ran out.
    pub ended: usize,
}

/// Broadcasts a reaper pass handles at most; the next pass takes the rest.
const REAP_BATCH: i64 = 500;

/// The Icecast YP directory.
#[derive(Debug, Clone)]
pub struct Directory<'a> {
    db: &'a Db,
    clock: &'a Clock,
    urls: &'a Urls,
    settings: DirectorySettings,
}

impl<'a> Directory<'a> {
    /// The directory over the app's database, with its YP settings (a few copies of numbers:
    /// cheap enough to make per request).
    pub fn new(state: &'a AppState) -> Self {
        Self {
            db: &state.db,
            clock: &state.clock,
            urls: &state.urls,
            settings: DirectorySettings::from_config(&state.config),
        }
    }

    /// The configured `TouchFreq`.
    pub fn touch_freq(&self) -> u32 {
        self.settings.touch_freq
    }

    /// A stream goes on air: create or refresh the stream, start or continue its broadcast, and
    /// issue a new SID (the old one, if any, stops working).
    ///
    /// A failed add costs the broadcaster two hours (Icecast's retry delay), so a lost race with
    /// another process, or a transient database error, is retried once before answering.
    #[tracing::instrument(skip_all, fields(mount = %req.mount))]
    pub async fn add(&self, token: &str, req: AddRequest) -> Result<Added> {
        let hash = accounts::token_hash(token);
        let added = match self.try_add(hash.clone(), req.clone()).await {
            Err(e)
                if e.is_internal()
                    || e.is_unique_violation()
                    || matches!(e, Error::Conflict(_)) =>
            {
                tracing::warn!(error = %e, "add failed; retrying once");
                self.try_add(hash, req).await?
            }
            other => other?,
        };
        tracing::info!(handle = %added.handle, broadcast = added.broadcast_id, new = added.new_broadcast, "on air");
        Ok(added)
    }

    async fn try_add(&self, hash: String, req: AddRequest) -> Result<Added> {
        let (now, settings, urls) = (self.clock.now(), self.settings.clone(), self.urls.clone());
        self.db
            .write(move |conn| {
                let owner = accounts::token_owner(conn, &hash, now)?;
                let (stream, changed) =
                    find_or_create_stream(conn, owner.user_id, &req, &settings, now)?;
                if changed {
                    announce::profile_changed(conn, &stream, &urls, now)?;
                }
                let sid = Sid::generate();
                let active = Broadcast::find_active(conn, stream.id)?;
                let (broadcast_id, new_broadcast) = match active {
                    Some(b) if can_continue(&b, &settings, now) => {
                        if !b.resume(conn, sid.as_str(), now)? {
                            return Err(Error::Conflict(
                                "the broadcast changed during the add".to_owned(),
                            ));
                        }
                        if b.state != BroadcastState::Live {
                            tell_pages(conn, stream.id, StreamStatus::Live, &b.title)?;
                        }
                        (b.id, false)
                    }
                    stale => {
                        // Idle past its limit but not reaped yet: end it here. If another
                        // process revived it meanwhile, the insert below hits the one-active
                        // index and the add is retried.
                        if let Some(b) = stale
                            && b.end_if_idle(conn, settings.idle_cutoff(b.state, now), now)?
                        {
                            announce::ended(conn, &stream, &b, &urls, &settings.language, now)?;
                        }
                        let mut started =
                            Broadcast::insert_live(conn, stream.id, sid.as_str(), now)?;
                        let show =
                            super::shows::current(conn, stream.id, settings.show_early, now)?;
                        if let Some((show, at)) = &show {
                            let start = at.start.naive_utc();
                            Broadcast::set_show(conn, started.id, show.id, &show.title, start)?;
                            (started.show_id, started.show_title) =
                                (Some(show.id), Some(show.title.clone()));
                        }
                        announce::started(conn, &stream, &started, &urls, &settings.language, now)?;
                        // The show's Event now says it is on air.
                        if let Some((show, _)) = &show {
                            announce::show_changed(conn, &stream, show, &urls, now)?;
                        }
                        tell_pages(conn, stream.id, StreamStatus::Live, &started.title)?;
                        (started.id, true)
                    }
                };
                Ok(Added {
                    sid,
                    handle: stream.handle,
                    new_broadcast,
                    broadcast_id,
                })
            })
            .await
    }

    /// Icecast says the stream is still on air and what plays now: recorded in the next batch
    /// of touches (see [`super::touch`]).
    pub async fn touch(&self, token: &str, req: TouchRequest) -> Result<()> {
        let touch = Touch {
            hash: accounts::token_hash(token),
            req,
            now: self.clock.now(),
            interval: self.settings.update_interval,
            urls: self.urls.clone(),
            language: self.settings.language.clone(),
        };
        self.db.batch::<Touches>(touch).await
    }

    /// Notes a request made with `token` and what it was told on the token (the broadcaster's
    /// diagnostics); nothing for a token that does not exist.
    pub async fn note(&self, token: &str, action: &str, ok: bool, message: &str) -> Result<()> {
        let (hash, now) = (accounts::token_hash(token), self.clock.now());
        // A refusal may carry any made-up token: it costs a read, never a write, unless the
        // token is real.
        if !ok {
            let key = hash.clone();
            if !self.db.read(move |c| YpToken::exists(c, &key)).await? {
                return Ok(());
            }
        }
        let (action, message) = (action.to_owned(), message.to_owned());
        self.db
            .write(move |conn| {
                let exchange = YpExchange {
                    action: &action,
                    ok,
                    message: &message,
                    at: now,
                };
                YpToken::note_exchange(conn, &hash, exchange).map(drop)
            })
            .await
    }

    /// The source stopped: the broadcast waits out the grace period before it ends.
    #[tracing::instrument(skip_all)]
    pub async fn remove(&self, token: &str, sid: Sid) -> Result<()> {
        let (hash, now) = (accounts::token_hash(token), self.clock.now());
        let id = self
            .db
            .write(move |conn| {
                let owner = accounts::token_owner(conn, &hash, now)?;
                let broadcast = Broadcast::find_live_by_sid(conn, sid.as_str(), owner.user_id)?
                    .ok_or(Error::UnknownSid)?;
                if !broadcast.begin_ending(conn, now)? {
                    return Err(Error::UnknownSid);
                }
                tell_pages(
                    conn,
                    broadcast.stream_id,
                    StreamStatus::Ending,
                    &broadcast.title,
                )?;
                Ok(broadcast.id)
            })
            .await?;
        tracing::info!(broadcast = id, "ending");
        Ok(())
    }

    /// One reaper pass: ends live broadcasts nobody touched for too long and ending broadcasts
    /// whose grace ran out. Safe to run in several processes at once: each end is conditional on
    /// the broadcast still being idle.
    pub async fn reap(&self) -> Result<Reaped> {
        let (now, settings, urls) = (self.clock.now(), self.settings.clone(), self.urls.clone());
        self.db
            .write(move |conn| {
                let mut reaped = Reaped::default();
                let ended = |conn: &mut DbConn, b: &Broadcast| -> Result<()> {
                    if let Some(stream) = Stream::find(conn, b.stream_id)? {
                        announce::ended(conn, &stream, b, &urls, &settings.language, now)?;
                    }
                    tell_pages(conn, b.stream_id, StreamStatus::Offline, "")
                };
                let live_cutoff = settings.idle_cutoff(BroadcastState::Live, now);
                for b in Broadcast::list_silent_since(conn, live_cutoff, REAP_BATCH)? {
                    if b.end_if_idle(conn, live_cutoff, now)? {
                        ended(conn, &b)?;
                        tracing::info!(broadcast = b.id, "ended: no touch");
                        reaped.silent += 1;
                    }
                }
                let ending_cutoff = settings.idle_cutoff(BroadcastState::Ending, now);
                for b in Broadcast::list_ending_since(conn, ending_cutoff, REAP_BATCH)? {
                    if b.end_if_idle(conn, ending_cutoff, now)? {
                        ended(conn, &b)?;
                        tracing::info!(broadcast = b.id, "ended: removed");
                        reaped.ended += 1;
                    }
                }
                Ok(reaped)
            })
            .await
    }
}

/// Whether an add continues `b` rather than starting a new broadcast: it is live and still being
/// touched, or ending within its grace.
fn can_continue(b: &Broadcast, settings: &DirectorySettings, now: NaiveDateTime) -> bool {
    match b.state {
        BroadcastState::Live => now - b.last_touch_at <= settings.silence_limit,
        BroadcastState::Ending => b
            .ending_since
            .is_some_and(|t| now - t <= settings.end_grace),
        BroadcastState::Ended => false,
    }
}

/// The owner's stream at the add's listen URL, with the add's profile, and whether an existing
/// stream's profile changed; created with a fresh handle if new. Retries when a concurrent add
/// (another process) won a unique-key race.
fn find_or_create_stream(
    conn: &mut DbConn,
    owner_id: i64,
    req: &AddRequest,
    settings: &DirectorySettings,
    now: NaiveDateTime,
) -> Result<(Stream, bool)> {
    for _ in 0..3 {
        let found = Stream::find_by_listen_url(conn, owner_id, req.listen_url.as_str())?;
        if let Some(mut stream) = found {
            let changed = stream.update_profile(conn, &req.profile, now)?;
            return Ok((stream, changed));
        }
        if Stream::count_for_owner(conn, owner_id)? >= settings.max_streams_per_user {
            return Err(Error::LimitReached(format!(
                "this account already has {} streams, the most allowed: delete an unused one \
                 (onair stream delete HANDLE) or ask the admin to raise max_streams_per_user",
                settings.max_streams_per_user
            )));
        }
        let base = handle::base_handle(&req.profile.name, &req.mount);
        let handle = handle::first_free(&base, &Stream::handles_with_prefix(conn, &base)?);
        let new = NewStream {
            owner_id,
            handle: &handle,
            listen_url: req.listen_url.as_str(),
            profile: req.profile.clone(),
            created_at: now,
            updated_at: now,
        };
        // A savepoint, so that a lost race leaves the outer transaction usable on PostgreSQL.
        match conn.transaction(|c| Stream::insert(c, &new)) {
            Err(e) if e.is_unique_violation() => continue,
            other => return other.map(|s| (s, false)),
        }
    }
    Err(Error::Conflict(
        "another add for this stream is in progress; Icecast will retry".to_owned(),
    ))
}
