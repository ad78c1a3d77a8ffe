//! Scheduled shows: what a broadcaster announces ahead, one-off or weekly, as federated Events.
//! Every front end (dashboard, CLI, JSON API) parses into a [`ShowInput`] and calls the use cases
//! here; each is one write transaction with its `Create`, `Update` or `Delete` queued in it.

pub mod calendar;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};

use crate::timetable as when;
pub use crate::timetable::{Occurrence, Schedule};
use crate::{
    db::{
        DbConn,
        models::{Broadcast, NewShow, Show, Stream},
    },
    error::{Error, Result},
    federation::{announce, event::When},
    text,
    urls::Urls,
};

/// Longest title and description, in characters; most shows a stream may have scheduled.
const TITLE: usize = 200;
const DESCRIPTION: usize = 2000;
const SHOWS_PER_STREAM: usize = 50;
/// A show lasts one minute to a day.
const LONGEST_MINUTES: i64 = 24 * 60;
/// How far ahead overlaps of weekly shows are looked for.
const OVERLAP_HORIZON: TimeDelta = TimeDelta::weeks(104);
/// How far ahead a show may start (a schedule, not a wish list).
const AHEAD: TimeDelta = TimeDelta::days(2 * 365);

/// A show as a broadcaster writes it: times are wall-clock times in `time_zone`.
#[derive(Debug, Clone, Default)]
pub struct ShowInput {
    pub title: String,
    pub description: String,
    /// `2026-12-10 20:00` (or with a `T`).
    pub start: String,
    /// The end, the same way (on the start's day or later); or give `duration_minutes`.
    pub end: String,
    pub duration_minutes: Option<i64>,
    pub time_zone: String,
    pub weekly: bool,
    /// Local dates (`2026-12-24`) a weekly show skips.
    pub exceptions: Vec<String>,
}

fn local_time(raw: &str, what: &str) -> Result<NaiveDateTime> {
    let raw = raw.trim();
    [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
    .filter(|t| (2000..=9999).contains(&t.year()))
    // To the minute: a show's times (and its reminders' URLs) are.
    .and_then(|t| t.with_second(0))
    .ok_or_else(|| {
        Error::Invalid(format!(
            "{what} {raw:?} is not a date and time; write it as 2026-12-10 20:00"
        ))
    })
}

impl ShowInput {
    /// The show as stored, or what is wrong with it. `now` is when it is asked: a new show must
    /// start later.
    fn parse(&self, stream_id: i64) -> Result<NewShow> {
        let title = text::text(&self.title, TITLE);
        if title.is_empty() {
            return Err(Error::Invalid("a show needs a title".to_owned()));
        }
        let zone = when::zone(&self.time_zone)?;
        let start = local_time(&self.start, "start")?;
        let minutes = match (self.end.trim(), self.duration_minutes) {
            ("", Some(m)) => m,
            ("", None) => {
                return Err(Error::Invalid(
                    "give the show's end or its duration in minutes".to_owned(),
                ));
            }
            // Counted on the wall clock, as occurrences are (see `timetable`); the end must still
            // come after the start as instants (02:30 to 02:10 on the night clocks go back).
            (end, _) => {
                let end = local_time(end, "end")?;
                if when::instant(end, zone) <= when::instant(start, zone) {
                    return Err(Error::Invalid(
                        "the show must end after it starts".to_owned(),
                    ));
                }
                (end - start).num_minutes()
            }
        };
        if minutes <= 0 {
            return Err(Error::Invalid(
                "the show must end after it starts".to_owned(),
            ));
        }
        if minutes > LONGEST_MINUTES {
            return Err(Error::Invalid(
                "a show lasts at most 24 hours; split a longer one".to_owned(),
            ));
        }
        let mut exceptions = Vec::new();
        for raw in self
            .exceptions
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
        {
            let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
                Error::Invalid(format!(
                    "skipped date {raw:?} is not a date; write it as 2026-12-24"
                ))
            })?;
            exceptions.push(date.format("%Y-%m-%d").to_string());
        }
        if exceptions.len() > 100 {
            return Err(Error::Invalid("at most 100 skipped dates".to_owned()));
        }
        if !self.weekly && !exceptions.is_empty() {
            return Err(Error::Invalid("only a weekly show skips dates".to_owned()));
        }
        Ok(NewShow {
            stream_id,
            title,
            description: text::text(&self.description, DESCRIPTION),
            starts_local: start,
            duration_minutes: i32::try_from(minutes).unwrap_or(i32::MAX),
            time_zone: zone.name().to_owned(),
            weekly: self.weekly,
            exceptions: exceptions.join(","),
        })
    }
}

/// A new or edited show's schedule (its zone was checked by `parse`).
fn schedule(show: &Show) -> Result<Schedule> {
    Schedule::of(show)
}

/// A new show's first occurrence must lie ahead.
fn check_start(first: Occurrence, at: DateTime<Utc>) -> Result<()> {
    if first.start <= at {
        return Err(Error::Invalid(
            "the show starts in the past; give a later start".to_owned(),
        ));
    }
    check_ahead(first, at)
}

/// A show's next occurrence may not lie too far ahead.
fn check_ahead(next: Occurrence, at: DateTime<Utc>) -> Result<()> {
    if next.start > at + AHEAD {
        return Err(Error::Invalid(format!(
            "a show starts at most {} days ahead; give an earlier start",
            AHEAD.num_days()
        )));
    }
    Ok(())
}

/// The show `new` as a row would hold it, for the schedule's sake.
fn as_row(new: &NewShow, id: i64, now: NaiveDateTime) -> Show {
    Show {
        id,
        stream_id: new.stream_id,
        title: new.title.clone(),
        description: new.description.clone(),
        starts_local: new.starts_local,
        duration_minutes: new.duration_minutes,
        time_zone: new.time_zone.clone(),
        weekly: new.weekly,
        exceptions: new.exceptions.clone(),
        cancelled_at: None,
        announced_start: None,
        created_at: now,
        updated_at: now,
        finished_at: None,
        announced_at: None,
    }
}

/// Refuses a show that overlaps another of the same stream, naming it and when.
fn check_overlaps(conn: &mut DbConn, new: &Show, now: DateTime<Utc>) -> Result<()> {
    let ours = schedule(new)?.between(now, now + OVERLAP_HORIZON);
    for other in Show::active_for_stream(conn, new.stream_id)?
        .into_iter()
        .filter(|o| o.id != new.id)
    {
        let Some(theirs) = Schedule::of_stored(&other) else {
            continue;
        };
        let theirs = theirs.between(now, now + OVERLAP_HORIZON);
        if let Some(clash) = ours.iter().find(|a| theirs.iter().any(|b| a.overlaps(b))) {
            return Err(Error::Conflict(format!(
                "this overlaps the show {:?} (#{}) on {}; a stream has one show at a time",
                other.title,
                other.id,
                clash.start.format("%Y-%m-%d %H:%M UTC")
            )));
        }
    }
    Ok(())
}

/// Schedules a show on the broadcaster's stream: stored and announced (`Create` of its Event to
/// followers and relays) in one transaction.
pub fn add(
    conn: &mut DbConn,
    stream: &Stream,
    input: &ShowInput,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<Show> {
    let new = input.parse(stream.id)?;
    let at = now.and_utc();
    check_start(schedule(&as_row(&new, 0, now))?.first(), at)?;
    if Show::active_for_stream(conn, stream.id)?.len() >= SHOWS_PER_STREAM {
        return Err(Error::Invalid(format!(
            "a stream has at most {SHOWS_PER_STREAM} scheduled shows; cancel one first"
        )));
    }
    check_overlaps(conn, &as_row(&new, 0, now), at)?;
    let show = Show::insert(conn, &new, now)?;
    announce::show_scheduled(conn, stream, &show, urls, now)?;
    Ok(show)
}

/// Replaces a show's details; followers get one `Update` of its Event (a newer one replaces a
/// pending older one). A show with no occurrence left cannot be edited.
pub fn edit(
    conn: &mut DbConn,
    stream: &Stream,
    id: i64,
    input: &ShowInput,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<Show> {
    let old = own(conn, stream, id)?;
    let new = input.parse(stream.id)?;
    let at = now.and_utc();
    let row = as_row(&new, id, now);
    let Some(next) = schedule(&row)?.next(at) else {
        return Err(Error::Invalid(
            "the show would be over; give a later start".to_owned(),
        ));
    };
    check_ahead(next, at)?;
    check_overlaps(conn, &row, at)?;
    if row.title == old.title
        && row.description == old.description
        && row.starts_local == old.starts_local
        && row.duration_minutes == old.duration_minutes
        && row.time_zone == old.time_zone
        && row.weekly == old.weekly
        && row.exceptions == old.exceptions
    {
        return Ok(old);
    }
    Show::update(conn, id, &new, now)?;
    let show = Show::find(conn, id)?.ok_or_else(|| Error::NotFound(format!("show {id}")))?;
    announce::show_changed(conn, stream, &show, urls, now)?;
    // A reminder of a date the show no longer has is taken back.
    announce::withdraw_reminders(conn, stream, id, Some(next.start), urls, now)?;
    Ok(show)
}

/// Cancels a show: followers get a `Delete` of its Event (or, on a stream that keeps ended
/// posts, an `Update` marking it cancelled), and pending news of it is dropped.
pub fn cancel(
    conn: &mut DbConn,
    stream: &Stream,
    id: i64,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let show = own(conn, stream, id)?;
    if !Show::cancel(conn, id, now)? {
        return Err(Error::Conflict(format!("show {id} is cancelled already")));
    }
    let cancelled = Show {
        cancelled_at: Some(now),
        updated_at: now,
        ..show
    };
    announce::show_cancelled(conn, stream, &cancelled, urls, now)
}

/// One of the stream's shows that is not cancelled (404 otherwise, another stream's included)
/// nor over (409: schedule a new one).
fn own(conn: &mut DbConn, stream: &Stream, id: i64) -> Result<Show> {
    let show = Show::find(conn, id)?
        .filter(|s| s.stream_id == stream.id && s.cancelled_at.is_none())
        .ok_or_else(|| Error::NotFound(format!("show {id} of {}", stream.handle)))?;
    if show.finished_at.is_some() {
        return Err(Error::Conflict(format!(
            "show {id} is over; schedule a new one"
        )));
    }
    Ok(show)
}

/// The show whose window (from `early` before its start to its end) holds `now`: a broadcast
/// starting then is that show.
pub fn current(
    conn: &mut DbConn,
    stream_id: i64,
    early: TimeDelta,
    now: NaiveDateTime,
) -> Result<Option<(Show, Occurrence)>> {
    let at = now.and_utc();
    for show in Show::active_for_stream(conn, stream_id)? {
        if let Some(next) = Schedule::of_stored(&show).and_then(|s| s.next(at - early))
            && next.start - early <= at
            && at < next.end
        {
            return Ok(Some((show, next)));
        }
    }
    Ok(None)
}

/// What one pass of [`upkeep`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Upkept {
    /// One-off shows that are over, out of the active set.
    pub finished: usize,
    /// Weekly shows whose Event moved on to the next occurrence.
    pub moved: usize,
    /// Reminder posts sent.
    pub reminded: usize,
}

/// A reminder goes out at most this late (housekeeping was held up): after that it would say
/// "in 15 minutes" of a show starting sooner.
const REMINDER_LATE: TimeDelta = TimeDelta::minutes(3);

/// One pass of housekeeping over the active shows: a one-off show that is over leaves the active
/// set; a weekly show whose announced occurrence is over moves on (followers get an `Update` of
/// its Event with the next one), unless its broadcast still runs (its end moves it on); a stream
/// that reminds its followers posts a reminder once per occurrence when it is due (not for a
/// show announced or changed inside that time, nor an occurrence already on air). `language` is
/// the instance's, for the reminder posts.
pub fn upkeep(
    conn: &mut DbConn,
    urls: &Urls,
    language: &str,
    now: NaiveDateTime,
) -> Result<Upkept> {
    let at = now.and_utc();
    let mut done = Upkept::default();
    for show in Show::active(conn)? {
        let Some(schedule) = Schedule::of_stored(&show) else {
            continue;
        };
        let on_air = Broadcast::show_on_air(conn, show.id)?;
        let Some(next) = schedule.next(at) else {
            if on_air.is_none() {
                Show::finish(conn, show.id, now)?;
                done.finished += 1;
            }
            continue;
        };
        let Some(stream) = Stream::find(conn, show.stream_id)? else {
            continue;
        };
        if show.weekly && on_air.is_none() && show.announced_start != Some(next.start.naive_utc()) {
            announce::show_changed(conn, &stream, &show, urls, now)?;
            done.moved += 1;
        }
        let due = next.start - TimeDelta::minutes(i64::from(stream.show_reminder));
        if stream.show_reminder > 0
            && (due..due + REMINDER_LATE).contains(&at)
            && at < next.start
            && show.updated_at.and_utc() < due
            && on_air.flatten() != Some(next.start.naive_utc())
            && announce::show_reminder(conn, &stream, &show, next.start, urls, language, now)?
        {
            done.reminded += 1;
        }
    }
    Ok(done)
}

/// Occurrences of the active shows (of one stream, or all), between `from` and `to`, soonest
/// first, each with its stream and whether it is on air: the occurrence the show's running
/// broadcast is (it went on air in that occurrence's window).
pub async fn occurrences(
    db: &crate::db::Db,
    stream_id: Option<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(Show, Stream, When)>> {
    db.read(move |c| {
        let shows = match stream_id {
            Some(id) => Show::active_for_stream(c, id)?,
            None => Show::active(c)?,
        };
        let mut out = Vec::new();
        for show in shows {
            let Some(stream) = Stream::find(c, show.stream_id)? else {
                continue;
            };
            let Some(schedule) = Schedule::of_stored(&show) else {
                continue;
            };
            let on_air = Broadcast::show_on_air(c, show.id)?.flatten();
            for at in schedule.between(from, to).into_iter().take(60) {
                let when = When {
                    start: at.start,
                    end: at.end,
                    live: on_air == Some(at.start.naive_utc()),
                };
                out.push((show.clone(), stream.clone(), when));
            }
        }
        out.sort_by_key(|(_, _, w)| w.start);
        Ok(out)
    })
    .await
}
