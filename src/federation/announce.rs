//! What followers are told when a broadcast starts, changes title or ends, and when a stream's
//! profile changes. Each function runs inside the transaction of the state change (the
//! transactional outbox, DESIGN.md §3).

use chrono::{DateTime, NaiveDateTime, Utc};
use url::Url;

use super::{activities::Activity, actor::Service, event, note};
use crate::{
    db::{
        DbConn,
        models::{
            Broadcast, BroadcastState, Follower, OnEnd, Show, ShowReminder, Stream, StreamKeys,
            Subscription,
        },
    },
    delivery::{Outgoing, enqueue},
    error::Result,
    urls::Urls,
};

/// Go on air: `Create` of the broadcast's Note (`language`: the instance's, for streams that
/// chose none).
pub fn started(
    conn: &mut DbConn,
    stream: &Stream,
    broadcast: &Broadcast,
    urls: &Urls,
    language: &str,
    now: NaiveDateTime,
) -> Result<()> {
    Broadcast::set_announced(conn, broadcast.id, &broadcast.title, now)?;
    let object = note::note(stream, broadcast, urls, language);
    send(
        conn,
        stream,
        &Activity::create(stream, broadcast.id, object, urls),
        now,
    )
}

/// A new title: `Update` of the Note, unless the stream's titles do not edit its post, or
/// followers were told less than `interval` ago (the next touch after that sends the latest
/// title, so a burst of titles becomes one Update).
pub fn touched(
    conn: &mut DbConn,
    stream: &Stream,
    broadcast: &Broadcast,
    interval: chrono::TimeDelta,
    urls: &Urls,
    language: &str,
    now: NaiveDateTime,
) -> Result<bool> {
    let told = broadcast.announced_title.as_deref() == Some(broadcast.title.as_str());
    // `announced_at` may be a second ahead (see `note::edited_at`): an interval of 0 is no limit.
    let recently =
        !interval.is_zero() && broadcast.announced_at.is_some_and(|t| now - t < interval);
    if !stream.title_edits || told || recently {
        return Ok(false);
    }
    let edited = note::edited_at(broadcast, now);
    Broadcast::set_announced(conn, broadcast.id, &broadcast.title, edited)?;
    let mut updated = broadcast.clone();
    updated.announced_at = Some(edited);
    let object = note::note(stream, &updated, urls, language);
    send(
        conn,
        stream,
        &Activity::update(stream, broadcast.id, object, urls),
        now,
    )?;
    Ok(true)
}

/// Off air: `Delete` of the Note (it becomes a Tombstone), or, when the stream keeps ended
/// posts, an `Update` that says it was on air. Either way pending go-live news is dropped.
pub fn ended(
    conn: &mut DbConn,
    stream: &Stream,
    broadcast: &Broadcast,
    urls: &Urls,
    language: &str,
    now: NaiveDateTime,
) -> Result<()> {
    match stream.on_end {
        OnEnd::Delete => send(
            conn,
            stream,
            &Activity::delete(stream, broadcast.id, urls),
            now,
        )?,
        OnEnd::Update => {
            Broadcast::set_kept(conn, broadcast.id)?;
            // Strictly after the last title Update, even one in this same second.
            let edited = note::edited_at(broadcast, now);
            Broadcast::set_announced(conn, broadcast.id, &broadcast.title, edited)?;
            let over = Broadcast {
                state: BroadcastState::Ended,
                ended_at: Some(now),
                announced_at: Some(edited),
                kept: true,
                ..broadcast.clone()
            };
            let object = note::note(stream, &over, urls, language);
            let update = Activity::update_ended(stream, broadcast.id, object, urls);
            send(conn, stream, &update, now)?;
        }
    }
    // A show's broadcast is over: its Event says so (a weekly one moves on to its next date).
    if let Some(show) = broadcast
        .show_id
        .map(|id| Show::find(conn, id))
        .transpose()?
        .flatten()
        && show.cancelled_at.is_none()
    {
        show_changed(conn, stream, &show, urls, now)?;
    }
    Ok(())
}

/// The stream's name, description, genres, homepage, format or follower approval changed:
/// `Update` of the actor, so followers' servers refresh the profile. Nothing when the actor was
/// never served (no key pair yet): nobody can follow it then.
pub fn profile_changed(
    conn: &mut DbConn,
    stream: &Stream,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let Some(public_key) = StreamKeys::public_key(conn, stream.id)? else {
        return Ok(());
    };
    let actor = Service::new(stream, public_key, urls);
    send(
        conn,
        stream,
        &Activity::update_actor(stream, actor, urls),
        now,
    )
}

/// Queues `activity` for the stream's followers, and the relays that accepted us: every
/// broadcast activity is public.
fn send(
    conn: &mut DbConn,
    stream: &Stream,
    activity: &impl Outgoing,
    now: NaiveDateTime,
) -> Result<()> {
    let mut inboxes = Follower::inboxes(conn, stream.id)?;
    inboxes.extend(Subscription::relay_inboxes(conn)?);
    let inboxes: Vec<Url> = inboxes.iter().filter_map(|i| Url::parse(i).ok()).collect();
    if inboxes.is_empty() {
        return Ok(());
    }
    enqueue(conn, activity, Some(stream.id), inboxes, now)?;
    Ok(())
}

/// The Event of `show` as it stands now, noting the occurrence followers are told of. An
/// Update's Event carries `updated`, each newer than the last (see [`note::after`]): a peer keeps
/// the newest version of an Event, as Mastodon does of a Note.
fn announced_event(
    conn: &mut DbConn,
    stream: &Stream,
    show: &Show,
    update: bool,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<serde_json::Value> {
    let when = event::when_of(conn, show, now)?;
    let updated = update.then(|| note::after(show.announced_at, show.created_at, now));
    Show::set_announced(conn, show.id, when.start.naive_utc(), updated)?;
    let told = Show {
        announced_at: updated,
        ..show.clone()
    };
    Ok(event::event(stream, &told, when, urls))
}

/// A show scheduled: `Create` of its Event.
pub fn show_scheduled(
    conn: &mut DbConn,
    stream: &Stream,
    show: &Show,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let object = announced_event(conn, stream, show, false, urls, now)?;
    send(
        conn,
        stream,
        &Activity::create_event(stream, show.id, object, urls),
        now,
    )
}

/// A show changed, went live, ended, or moved on to its next occurrence: `Update` of its Event.
pub fn show_changed(
    conn: &mut DbConn,
    stream: &Stream,
    show: &Show,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let object = announced_event(conn, stream, show, true, urls, now)?;
    send(
        conn,
        stream,
        &Activity::update_event(stream, show.id, object, urls),
        now,
    )
}

/// A show is about to start (the stream's `show_reminder` minutes before the occurrence at
/// `start`): `Create` of its reminder post, once per occurrence. Whether it was sent (false: it
/// had been already).
pub fn show_reminder(
    conn: &mut DbConn,
    stream: &Stream,
    show: &Show,
    start: DateTime<Utc>,
    urls: &Urls,
    language: &str,
    now: NaiveDateTime,
) -> Result<bool> {
    let minutes = stream.show_reminder;
    if !ShowReminder::record(conn, show.id, start.naive_utc(), minutes, now)? {
        return Ok(false);
    }
    let note = event::reminder(stream, show, start, minutes, now, urls, language);
    let create = Activity::create_reminder(stream, urls.show_reminder(show.id, start), note, urls);
    send(conn, stream, &create, now)?;
    Ok(true)
}

/// Takes back the show's reminders of occurrences still ahead (but the one at `keep`): `Delete`
/// of each.
pub fn withdraw_reminders(
    conn: &mut DbConn,
    stream: &Stream,
    show_id: i64,
    keep: Option<DateTime<Utc>>,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let keep = keep.map(|k| k.naive_utc());
    for start in ShowReminder::withdraw(conn, show_id, now, keep, now)? {
        let reminder = urls.show_reminder(show_id, start.and_utc());
        send(
            conn,
            stream,
            &Activity::delete_reminder(stream, reminder, urls),
            now,
        )?;
    }
    Ok(())
}

/// A show cancelled: `Delete` of its Event, or, on a stream that keeps ended posts, an `Update`
/// that marks it cancelled (`ical:status` `CANCELLED`).
pub fn show_cancelled(
    conn: &mut DbConn,
    stream: &Stream,
    show: &Show,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    // A reminder of an occurrence that will not happen now is taken back.
    withdraw_reminders(conn, stream, show.id, None, urls, now)?;
    match stream.on_end {
        OnEnd::Delete => send(
            conn,
            stream,
            &Activity::delete_event(stream, show.id, urls),
            now,
        ),
        OnEnd::Update => {
            let mut object = announced_event(conn, stream, show, true, urls, now)?;
            object["ical:status"] = serde_json::json!("CANCELLED");
            send(
                conn,
                stream,
                &Activity::update_event(stream, show.id, object, urls),
                now,
            )
        }
    }
}
