//! Keeping a schedule (both backends): reminder posts a set time before a show (once, not for a
//! show announced inside that time, taken back when it is cancelled, served at their URL); a
//! one-off show that is over leaves the active set but keeps its page; a stored show whose zone
//! is unknown is skipped by the lists rather than failing them; remote Events too far ahead or
//! beyond a stream's limit are not kept.

use chrono::{Duration, NaiveDateTime};
use onair::{
    catalog::{Taken, event::RemoteEvent},
    db::models::{RemoteShow, RemoteStream, RemoteStreamProfile, Show, Stream},
    streams::{settings::Changes, shows::Upkept},
};
use reqwest::Method;
use serde_json::json;

use crate::{
    helpers::{TestApp, spawn_app},
    shows::{api, followed, in_minutes},
};

/// One housekeeping pass over the shows, now.
async fn upkeep(app: &TestApp) -> Upkept {
    let (urls, now) = (app.state.urls.clone(), app.state.clock.now());
    app.state
        .db
        .write(move |c| onair::streams::shows::upkeep(c, &urls, "en", now))
        .await
        .unwrap()
}

/// Sets how many minutes ahead `shows_fm`'s followers are reminded.
async fn remind(app: &TestApp, minutes: i64) -> onair::error::Result<()> {
    let (config, urls, now) = (
        app.state.config.clone(),
        app.state.urls.clone(),
        app.state.clock.now(),
    );
    app.state
        .db
        .write(move |c| {
            let mut stream = Stream::find(c, 1)?.unwrap();
            let changes = Changes {
                show_reminder: Some(minutes),
                ..Default::default()
            };
            changes.apply(c, &mut stream, &config, &urls, now)
        })
        .await
}

async fn schedule(app: &TestApp, title: &str, start_in: i64, minutes: i64) -> i64 {
    let body = json!({ "stream": "shows_fm", "title": title, "start": in_minutes(app, start_in),
        "duration_minutes": minutes, "time_zone": "UTC" });
    let (status, show) = api(app, Method::POST, "/api/v1/shows", Some(body)).await;
    assert_eq!(status, 201, "{show}");
    show["id"].as_i64().unwrap()
}

/// A stream that reminds 15 minutes ahead posts one reminder when it is due, none for a show
/// scheduled inside those 15 minutes, and takes it back when the show is cancelled; a one-off
/// show that is over leaves the active set (and so the limit) but its page stays.
#[tokio::test(flavor = "multi_thread")]
async fn reminders_go_out_once_and_shows_that_are_over_leave() {
    let app = spawn_app().await;
    let (_, seen) = followed(&app).await;
    assert!(remind(&app, 3).await.is_err(), "3 minutes is refused");
    assert!(remind(&app, 2000).await.is_err(), "over a day is refused");
    remind(&app, 15).await.unwrap();
    let morning = schedule(&app, "Morning <Show>", 60, 30).await;
    let soon = schedule(&app, "Soon", 10, 20).await;
    app.deliver_due().await;
    assert_eq!(seen.kinds(), ["Create", "Create"]);
    seen.0.lock().unwrap().clear();

    assert_eq!(upkeep(&app).await, Upkept::default(), "nothing is due yet");
    app.advance(46 * 60);
    let done = upkeep(&app).await;
    assert_eq!(
        (done.finished, done.reminded),
        (1, 1),
        "Soon is over (it was announced inside its reminder time: none); Morning is reminded"
    );
    assert_eq!(upkeep(&app).await, Upkept::default(), "one reminder only");
    app.deliver_due().await;
    assert_eq!(seen.kinds(), ["Create"]);
    let note = seen.activities()[0]["object"].clone();
    assert_eq!(note["type"], "Note");
    let content = note["content"].as_str().unwrap();
    assert!(
        content.contains("In 15 minutes") && content.contains("Morning &lt;Show&gt;"),
        "{content}"
    );
    assert!(content.contains(&format!("/shows/{morning}")), "{content}");
    assert!(
        note.get("isLiveBroadcast").is_none(),
        "no catalog takes it for a broadcast"
    );
    let reminder = note["id"].as_str().unwrap().to_owned();
    let path = reminder.trim_start_matches("http://localhost:8080");
    let (status, served) = app.get_ap(path).await;
    assert_eq!((status, &served["content"]), (200, &note["content"]));
    let (status, _) = app
        .get_ap(&format!("/shows/{morning}/reminders/20990101T0000Z"))
        .await;
    assert_eq!(status, 404, "not one of the show's dates");

    let active: Vec<i64> = app
        .state
        .db
        .read(Show::active)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        active,
        [morning],
        "the show that is over left the active set"
    );
    let (status, _) = app.get_ap(&format!("/shows/{soon}")).await;
    assert_eq!(status, 200, "its page stays");
    let body = json!({ "title": "Soon again", "start": in_minutes(&app, 600),
        "duration_minutes": 20, "time_zone": "UTC" });
    let (status, err) = api(
        &app,
        Method::PUT,
        &format!("/api/v1/shows/{soon}"),
        Some(body),
    )
    .await;
    assert_eq!(status, 409, "a show that is over is not moved: {err}");

    let (status, _) = api(
        &app,
        Method::DELETE,
        &format!("/api/v1/shows/{morning}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    app.deliver_due().await;
    let deleted: Vec<String> = seen.activities()[1..]
        .iter()
        .map(|a| {
            assert_eq!(a["type"], "Delete");
            a["object"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(deleted.contains(&reminder), "{deleted:?}");
    assert!(deleted.contains(&format!("http://localhost:8080/shows/{morning}")));
    let (status, gone) = app.get_ap(path).await;
    assert_eq!((status, gone["formerType"].as_str()), (410, Some("Note")));
}

/// The app's clock at `minutes` from now, to the second (a start with seconds is taken to the
/// minute).
fn with_seconds(app: &TestApp, minutes: i64) -> String {
    let t = app.state.clock.now() + Duration::minutes(minutes);
    t.format("%Y-%m-%d %H:%M:37").to_string()
}

async fn weekly(app: &TestApp, start: &str) -> i64 {
    let body = json!({ "stream": "shows_fm", "title": "Weekly", "start": start,
        "duration_minutes": 60, "time_zone": "UTC", "weekly": true });
    let (status, show) = api(app, Method::POST, "/api/v1/shows", Some(body)).await;
    assert_eq!(status, 201, "{show}");
    show["id"].as_i64().unwrap()
}

/// The ids of the reminders sent, in order.
fn reminders(seen: &crate::sinks::Seen) -> Vec<String> {
    seen.activities()
        .iter()
        .filter(|a| a["type"] == "Create" && a["object"]["type"] == "Note")
        .map(|a| a["object"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A weekly show is reminded every week (a start given with seconds is taken to the minute, so
/// each reminder's URL serves it); an edit that moves the show takes back the reminder of the
/// date it left, and the new date gets its own.
#[tokio::test(flavor = "multi_thread")]
async fn weekly_reminders_each_week_and_a_moved_show_takes_its_back() {
    let app = spawn_app().await;
    let (_, seen) = followed(&app).await;
    remind(&app, 10).await.unwrap();
    let id = weekly(&app, &with_seconds(&app, 60)).await;
    let mut sent = Vec::new();
    for week in 0..2 {
        app.advance(if week == 0 { 51 * 60 } else { 7 * 24 * 3600 });
        let done = upkeep(&app).await;
        assert_eq!(done.reminded, 1, "week {week}: {done:?}");
        assert_eq!(upkeep(&app).await.reminded, 0);
        app.deliver_due().await;
        sent = reminders(&seen);
        assert_eq!(sent.len(), week + 1, "{sent:?}");
    }
    for url in &sent {
        let (status, note) = app
            .get_ap(url.trim_start_matches("http://localhost:8080"))
            .await;
        assert_eq!(status, 200, "{url}: {note}");
        assert!(note["content"].as_str().unwrap().contains("In 10 minutes"));
    }
    // Moved an hour later, nine minutes before the reminded start: that reminder is taken back.
    seen.0.lock().unwrap().clear();
    let body = json!({ "title": "Weekly", "start": with_seconds(&app, 69),
        "duration_minutes": 60, "time_zone": "UTC", "weekly": true });
    let (status, moved) = api(
        &app,
        Method::PUT,
        &format!("/api/v1/shows/{id}"),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    app.deliver_due().await;
    let deleted: Vec<String> = seen
        .activities()
        .iter()
        .filter(|a| a["type"] == "Delete")
        .map(|a| a["object"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deleted, [sent[1].clone()]);
    let (status, _) = app
        .get_ap(sent[1].trim_start_matches("http://localhost:8080"))
        .await;
    assert_eq!(status, 410);
    let (status, _) = app
        .get_ap(sent[0].trim_start_matches("http://localhost:8080"))
        .await;
    assert_eq!(status, 200, "last week's stands");
    // The moved date gets its own reminder.
    app.advance(60 * 60);
    assert_eq!(upkeep(&app).await.reminded, 1);
}

/// A broadcast that starts early in the show's window is that date's: no reminder goes out for
/// it; while it runs past the show's end the Event keeps its date (live), and the lists mark
/// that date live, not next week's; when it ends, the Event moves on.
#[tokio::test(flavor = "multi_thread")]
async fn a_weekly_broadcast_that_runs_late_keeps_its_date_and_gets_no_reminder() {
    let app = spawn_app().await;
    let (token, seen) = followed(&app).await;
    remind(&app, 10).await.unwrap();
    let id = weekly(&app, &in_minutes(&app, 60)).await;
    let (_, event) = app.get_ap(&format!("/shows/{id}")).await;
    let date = event["startTime"].clone();
    app.advance(48 * 60);
    let sid = app.add(&token, "Shows FM", "shows").await;
    app.advance(3 * 60);
    app.yp(&token, &crate::helpers::touch_body(&sid, "Song", 3))
        .await;
    assert_eq!(upkeep(&app).await.reminded, 0, "on air already");
    // Past the show's end, still on air.
    for _ in 0..3 {
        app.advance(30 * 60);
        app.yp(&token, &crate::helpers::touch_body(&sid, "Song", 3))
            .await;
    }
    assert_eq!(
        upkeep(&app).await,
        Upkept::default(),
        "the Event waits for the broadcast"
    );
    let (_, event) = app.get_ap(&format!("/shows/{id}")).await;
    assert_eq!(
        (&event["startTime"], &event["isLiveBroadcast"]),
        (&date, &json!(true))
    );
    let (_, listed) = app.get_json("/api/v1/shows?stream=shows_fm").await;
    assert_eq!(
        listed["shows"][0]["live"], false,
        "next week is not live: {listed}"
    );
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    app.advance_and_reap(91).await;
    let (_, event) = app.get_ap(&format!("/shows/{id}")).await;
    assert_eq!(event["isLiveBroadcast"], false);
    assert_ne!(event["startTime"], date, "moved on to next week");
    app.deliver_due().await;
    assert!(reminders(&seen).is_empty());
}

/// Starts too far ahead are refused (two years; a year past 9999 is not a date).
#[tokio::test(flavor = "multi_thread")]
async fn starts_too_far_ahead_are_refused() {
    let app = spawn_app().await;
    followed(&app).await;
    for start in [
        in_minutes(&app, 3 * 365 * 24 * 60),
        "99999-01-01 20:00".to_owned(),
    ] {
        let body = json!({ "stream": "shows_fm", "title": "Far", "start": start,
            "duration_minutes": 60, "time_zone": "UTC" });
        let (status, err) = api(&app, Method::POST, "/api/v1/shows", Some(body)).await;
        assert_eq!(status, 400, "{start}: {err}");
        assert!(err["error"].as_str().is_some(), "{err}");
    }
    assert!(app.state.db.read(Show::active).await.unwrap().is_empty());
}

/// A show whose stored zone is no longer known is left out of the lists, the pages and the
/// feeds; the others are still there.
#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_stored_zone_is_skipped_not_fatal() {
    let app = spawn_app().await;
    followed(&app).await;
    let broken = schedule(&app, "Broken", 60, 30).await;
    schedule(&app, "Fine", 120, 30).await;
    app.state
        .db
        .write(move |c| {
            use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
            use onair::db::schema::shows;
            diesel::update(shows::table.find(broken))
                .set(shows::time_zone.eq("Mars/Olympus"))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let (status, list) = app.get_json("/api/v1/shows").await;
    assert_eq!(status, 200, "{list}");
    let titles: Vec<&str> = list["shows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Fine"]);
    for page in ["/", "/streams/shows_fm", "/shows.ics"] {
        let body = app.get_text(page).await;
        assert!(body.contains("Fine") && !body.contains("Broken"), "{page}");
    }
    assert_eq!(upkeep(&app).await, Upkept::default());
}

/// The catalog keeps a remote stream's Events up to its limit and two years ahead; a later
/// version of one already kept still replaces it, and one moved too far ahead goes.
#[tokio::test(flavor = "multi_thread")]
async fn remote_events_are_capped_per_stream_and_in_time() {
    let app = spawn_app().await;
    let now = app.state.clock.now();
    let event = move |n: usize, days: i64| {
        let start = now + Duration::days(days);
        let t = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        RemoteEvent::parse(&json!({
            "id": format!("https://r.example/shows/{n}"), "type": "Event",
            "attributedTo": "https://r.example/streams/x", "name": format!("Show {n}"),
            "startTime": t(start), "endTime": t(start + Duration::hours(1)),
        }))
        .unwrap()
    };
    let taken: Vec<Taken> = app
        .state
        .db
        .write(move |c| {
            let stream = RemoteStream::upsert(
                c,
                &RemoteStreamProfile {
                    actor_id: "https://r.example/streams/x".to_owned(),
                    host: "r.example".to_owned(),
                    handle: "x".to_owned(),
                    name: "X".to_owned(),
                    summary: String::new(),
                    icon: None,
                    url: None,
                    genres: String::new(),
                    updated_at: now,
                },
            )?;
            let mut taken = Vec::new();
            for n in 0..50 {
                onair::catalog::event::keep(c, stream, event(n, 1), now)?;
            }
            taken.push(onair::catalog::event::keep(c, stream, event(50, 1), now)?);
            taken.push(onair::catalog::event::keep(c, stream, event(8, 2), now)?);
            taken.push(onair::catalog::event::keep(
                c,
                stream,
                event(7, 3 * 365),
                now,
            )?);
            Ok(taken)
        })
        .await
        .unwrap();
    assert_eq!(taken, [Taken::Ignored, Taken::Live, Taken::Ignored]);
    let (from, to) = (now, now + Duration::days(4000));
    let kept = app
        .state
        .db
        .read(move |c| RemoteShow::between(c, from, to))
        .await
        .unwrap();
    assert_eq!(kept.len(), 49, "show 7, moved too far ahead, went");
    assert!(kept.iter().all(|(s, _)| s.title != "Show 7"));
    let eight = kept.iter().find(|(s, _)| s.title == "Show 8").unwrap();
    assert_eq!(eight.0.starts_at.date(), (now + Duration::days(2)).date());
}
