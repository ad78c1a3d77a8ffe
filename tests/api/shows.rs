//! Scheduled shows: the rules of a schedule (both backends), their Events to followers (one
//! Create, one Update however many edits are pending, a Delete on cancelling), the go-live that
//! keeps the show's promise, weekly shows across a daylight-saving change, the upcoming lists,
//! the show page, the JSON API and the iCalendar feed read by an independent parser.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chrono::{Duration, NaiveDateTime};
use onair::db::models::{Follower, FollowerState, Show};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, in_ci, spawn_app, touch_body},
    sinks::{Seen, start_sink},
};

/// A stream `shows_fm` (off air, with keys) owned by `dj` (password "correct horse battery"),
/// followed by one accepted follower at a local sink.
pub async fn followed(app: &TestApp) -> (String, Seen) {
    crate::dashboard::account(app, "dj").await;
    let token = app
        .state
        .db
        .write(|c| {
            let user = onair::db::models::User::find_by_name(c, "dj")?.unwrap();
            onair::accounts::create_token(c, user.id, "t", user.created_at).map(|(_, t)| t)
        })
        .await
        .unwrap();
    let sid = app.add(&token, "Shows FM", "shows").await;
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    app.advance_and_reap(3600).await;
    onair::keys::fill_missing(&app.state.db, &app.state.clock)
        .await
        .unwrap();
    let (sink, seen) = start_sink();
    let (inbox, now) = (format!("{sink}/inbox"), app.state.clock.now());
    app.state
        .db
        .write(move |c| {
            Follower::upsert(
                c,
                1,
                "http://f.example/u",
                &inbox,
                None,
                FollowerState::Accepted,
                None,
                now,
            )
        })
        .await
        .unwrap();
    app.deliver_due().await;
    seen.0.lock().unwrap().clear();
    (token, seen)
}

/// A local wall-clock time `minutes` from the app's now, in UTC.
pub fn in_minutes(app: &TestApp, minutes: i64) -> String {
    (app.state.clock.now() + Duration::minutes(minutes))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The API as the broadcaster's own client calls it.
pub async fn api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.client.request(method, app.url(path)).header(
        "authorization",
        format!("Basic {}", BASE64.encode("dj:correct horse battery")),
    );
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn count_shows(app: &TestApp) -> usize {
    app.state.db.read(Show::active).await.unwrap().len()
}

/// Scheduling sends one `Create` of an Event in FEP-8a8e's shape; two edits before delivery
/// reach the follower as one `Update` with the latest; cancelling sends a `Delete`, and the
/// show's URL then answers 410 with a Tombstone.
#[tokio::test(flavor = "multi_thread")]
async fn a_show_is_announced_edited_once_and_cancelled() {
    let app = spawn_app().await;
    let (_, seen) = followed(&app).await;
    let start = in_minutes(&app, 24 * 60);
    let (status, show) = api(
        &app,
        reqwest::Method::POST,
        "/api/v1/shows",
        Some(json!({
            "stream": "shows_fm", "title": "Late <Jazz>", "description": "Records & talk",
            "start": start, "duration_minutes": 90, "time_zone": "UTC",
        })),
    )
    .await;
    assert_eq!(status, 201, "{show}");
    let id = show["id"].as_i64().unwrap();
    app.deliver_due().await;
    assert_eq!(seen.kinds(), ["Create"]);
    let event = &seen.activities()[0]["object"];
    assert_eq!(event["type"], "Event");
    assert_eq!(event["id"], format!("http://localhost:8080/shows/{id}"));
    assert_eq!(event["name"], "Late <Jazz>");
    assert_eq!(
        event["attributedTo"],
        "http://localhost:8080/streams/shows_fm"
    );
    assert_eq!(event["location"]["type"], "VirtualLocation");
    assert_eq!(
        event["location"]["url"],
        "http://localhost:8080/streams/shows_fm"
    );
    let starts = |e: &Value| {
        (
            e["startTime"].as_str().unwrap().to_owned(),
            e["endTime"].as_str().unwrap().to_owned(),
        )
    };
    let (s, e) = starts(event);
    assert_eq!(s, format!("{}:00Z", start.replace(' ', "T")));
    let length = chrono::DateTime::parse_from_rfc3339(&e).unwrap()
        - chrono::DateTime::parse_from_rfc3339(&s).unwrap();
    assert_eq!(length, Duration::minutes(90));
    assert!(
        event["content"]
            .as_str()
            .unwrap()
            .contains("Records &amp; talk")
    );

    for title in ["Late Jazz", "Later Jazz"] {
        let body =
            json!({ "title": title, "start": start, "duration_minutes": 60, "time_zone": "UTC" });
        let (status, _) = api(
            &app,
            reqwest::Method::PUT,
            &format!("/api/v1/shows/{id}"),
            Some(body),
        )
        .await;
        assert_eq!(status, 200);
    }
    app.deliver_due().await;
    assert_eq!(
        seen.kinds(),
        ["Create", "Update"],
        "one Update for two edits"
    );
    assert_eq!(seen.activities()[1]["object"]["name"], "Later Jazz");

    let (status, _) = api(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/v1/shows/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    app.deliver_due().await;
    assert_eq!(seen.kinds(), ["Create", "Update", "Delete"]);
    assert_eq!(
        seen.activities()[2]["object"]["id"],
        format!("http://localhost:8080/shows/{id}")
    );
    let (status, gone) = app.get_ap(&format!("/shows/{id}")).await;
    assert_eq!((status, gone["formerType"].as_str()), (410, Some("Event")));
    let (status, _) = api(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/v1/shows/{id}"),
        None,
    )
    .await;
    assert_eq!(
        status, 404,
        "a cancelled show is not the broadcaster's to cancel again"
    );
}

/// Bad schedules get a clear error and change nothing: end before start, in the past, an
/// unknown zone, skipped dates on a one-off, an overlap with the stream's other show, another
/// broadcaster's stream, no credentials.
#[tokio::test(flavor = "multi_thread")]
async fn bad_schedules_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    followed(&app).await;
    let (tomorrow, later) = (in_minutes(&app, 24 * 60), in_minutes(&app, 24 * 60 + 30));
    let ok = json!({ "stream": "shows_fm", "title": "Weekly", "start": tomorrow,
        "duration_minutes": 60, "time_zone": "Europe/Berlin", "weekly": true });
    assert_eq!(
        api(&app, reqwest::Method::POST, "/api/v1/shows", Some(ok))
            .await
            .0,
        201
    );
    let bad = [
        (
            json!({ "stream": "shows_fm", "title": "x", "start": later, "end": tomorrow, "time_zone": "UTC" }),
            400,
            "end after it starts",
        ),
        (
            json!({ "stream": "shows_fm", "title": "x", "start": in_minutes(&app, -60), "duration_minutes": 30, "time_zone": "UTC" }),
            400,
            "in the past",
        ),
        (
            json!({ "stream": "shows_fm", "title": "x", "start": later, "duration_minutes": 30, "time_zone": "Mars/Base" }),
            400,
            "not a time zone",
        ),
        (
            json!({ "stream": "shows_fm", "title": "x", "start": in_minutes(&app, 3 * 24 * 60), "duration_minutes": 30, "time_zone": "UTC", "exceptions": ["2026-12-24"] }),
            400,
            "only a weekly show",
        ),
        (
            json!({ "stream": "shows_fm", "title": "Clash", "start": in_minutes(&app, 8 * 24 * 60 + 30), "duration_minutes": 60, "time_zone": "Europe/Berlin" }),
            409,
            "overlaps the show \"Weekly\"",
        ),
        (
            json!({ "stream": "shows_fm", "title": "x", "start": "tomorrow", "duration_minutes": 30, "time_zone": "UTC" }),
            400,
            "2026-12-10 20:00",
        ),
        (
            json!({ "stream": "nobody", "title": "x", "start": later, "duration_minutes": 30, "time_zone": "UTC" }),
            404,
            "nobody",
        ),
        (
            json!({ "stream": "shows_fm", "title": "x", "start": later, "time_zone": "UTC" }),
            400,
            "duration",
        ),
    ];
    for (body, status, says) in bad {
        let (got, answer) = api(
            &app,
            reqwest::Method::POST,
            "/api/v1/shows",
            Some(body.clone()),
        )
        .await;
        assert_eq!(got, status, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap_or("").contains(says),
            "{body}: {answer}"
        );
    }
    let anonymous = app
        .client
        .post(app.url("/api/v1/shows"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(count_shows(&app).await, 1, "nothing refused was stored");
}

/// A broadcast that starts within a show's window (a little early here) is that show: its post
/// carries the show's title and links the Event, and the Event says it is live, then over.
#[tokio::test(flavor = "multi_thread")]
async fn the_go_live_keeps_the_shows_promise() {
    let app = spawn_app().await;
    let (token, seen) = followed(&app).await;
    let body = json!({ "stream": "shows_fm", "title": "Night Owls", "start": in_minutes(&app, 10),
        "duration_minutes": 60, "time_zone": "UTC" });
    let (_, show) = api(&app, reqwest::Method::POST, "/api/v1/shows", Some(body)).await;
    let event_url = show["url"].as_str().unwrap().to_owned();
    app.deliver_due().await;
    app.advance(5 * 60);
    let sid = app.add(&token, "Shows FM", "shows").await;
    app.deliver_due().await;
    let mut kinds = seen.kinds();
    kinds.sort();
    assert_eq!(kinds, ["Create", "Create", "Update"]);
    let activities = seen.activities();
    let post = &activities
        .iter()
        .find(|a| a["object"]["type"] == "Note")
        .unwrap()["object"];
    assert_eq!(post["type"], "Note");
    assert_eq!(post["show"], event_url);
    let content = post["content"].as_str().unwrap();
    assert!(
        content.contains("is on air: Night Owls") && content.contains(&event_url),
        "{content}"
    );
    let live = activities.iter().find(|a| a["type"] == "Update").unwrap();
    assert_eq!(live["object"]["isLiveBroadcast"], true);
    let (_, served) = app.get_ap(&format!("/shows/{}", show["id"])).await;
    assert_eq!(served["isLiveBroadcast"], true);
    let stamp = |e: &Value, key: &str| {
        chrono::DateTime::parse_from_rfc3339(
            e[key].as_str().unwrap_or_else(|| panic!("{key}: {e}")),
        )
        .unwrap()
    };
    assert!(
        stamp(&live["object"], "updated") > stamp(&live["object"], "published"),
        "an Update of the Event is newer than its Create"
    );
    assert_eq!(served["updated"], live["object"]["updated"]);
    // Five minutes early, the broadcast is the show: the lists say it is live already.
    let (_, listed) = app.get_json("/api/v1/shows?stream=shows_fm").await;
    assert_eq!(listed["shows"][0]["live"], true, "{listed}");

    app.yp(&token, &touch_body(&sid, "Song", 3)).await;
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    app.advance_and_reap(91).await;
    app.deliver_due().await;
    let mut kinds = seen.kinds()[3..].to_vec();
    kinds.sort();
    assert_eq!(kinds, ["Delete", "Update"]);
    let over = seen
        .activities()
        .into_iter()
        .skip(3)
        .find(|a| a["type"] == "Update")
        .unwrap();
    assert_eq!(over["object"]["isLiveBroadcast"], false);
    assert!(
        stamp(&over["object"], "updated") > stamp(&live["object"], "updated"),
        "each Update of the Event is newer than the last"
    );

    // A broadcast after Night Owls and long before Tomorrow is no show.
    let (_, other) = api(
        &app,
        reqwest::Method::POST,
        "/api/v1/shows",
        Some(json!({
        "stream": "shows_fm", "title": "Tomorrow", "start": in_minutes(&app, 24 * 60),
        "duration_minutes": 60, "time_zone": "UTC" })),
    )
    .await;
    assert_eq!(other["title"], "Tomorrow");
    app.advance_and_reap(2 * 3600).await;
    app.add(&token, "Shows FM", "shows").await;
    app.deliver_due().await;
    let last = seen
        .activities()
        .into_iter()
        .rfind(|a| a["type"] == "Create" && a["object"]["type"] == "Note")
        .unwrap();
    assert!(last["object"].get("show").is_none(), "{last}");
}

/// A weekly show across the end of summer time in Berlin keeps 20:00 local: the API lists it at
/// 18:00 UTC before and 19:00 UTC after; a skipped date is left out; the home page, the stream
/// page and the show page list it; the iCalendar feed holds the same instants as read by
/// Python's `icalendar`.
#[tokio::test(flavor = "multi_thread")]
async fn weekly_shows_cross_daylight_saving_in_lists_pages_and_calendars() {
    let app = spawn_app().await;
    followed(&app).await;
    // Start three days from now at 20:00 Berlin time; the test computes the expected instants
    // from the zone rules itself, so it holds whatever the date.
    let first = (app.state.clock.now() + Duration::days(3))
        .date()
        .and_hms_opt(20, 0, 0)
        .unwrap();
    let skipped = (first + Duration::days(7)).date();
    let body = json!({ "stream": "shows_fm", "title": "Kraut Hour", "start": first.format("%Y-%m-%d %H:%M").to_string(),
        "duration_minutes": 60, "time_zone": "Europe/Berlin", "weekly": true,
        "exceptions": [skipped.format("%Y-%m-%d").to_string()] });
    let (status, show) = api(&app, reqwest::Method::POST, "/api/v1/shows", Some(body)).await;
    assert_eq!(status, 201, "{show}");
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let expected: Vec<String> = (0..26)
        .map(|w| first + Duration::weeks(w))
        .filter(|l| l.date() != skipped)
        .map(|l: NaiveDateTime| {
            use chrono::TimeZone;
            berlin
                .from_local_datetime(&l)
                .earliest()
                .unwrap()
                .with_timezone(&chrono::Utc)
                .to_rfc3339()
        })
        .collect();
    let to = (app.state.clock.now() + Duration::weeks(26))
        .and_utc()
        .to_rfc3339();
    let (status, listed) = app
        .get_json(&format!(
            "/api/v1/shows?stream=shows_fm&to={}",
            urlencode(&to)
        ))
        .await;
    assert_eq!(status, 200, "{listed}");
    let starts: Vec<String> = listed["shows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s["start"].as_str().unwrap())
                .unwrap()
                .to_rfc3339()
        })
        .collect();
    assert_eq!(starts, expected[..starts.len()], "{listed}");
    assert!(
        starts.len() >= 24,
        "half a year of weeks, less the skipped one"
    );
    // Both sides of a change appear within half a year: two distinct UTC hours.
    let hours: std::collections::BTreeSet<String> =
        starts.iter().map(|s| s[11..13].to_owned()).collect();
    assert_eq!(hours.len(), 2, "{hours:?}");

    for page in ["/", "/streams/shows_fm", &format!("/shows/{}", show["id"])] {
        let html = app.get_text(page).await;
        assert!(
            html.contains("Kraut Hour") && html.contains("Europe/Berlin"),
            "{page}: {html}"
        );
    }
    let (status, bad) = app.get_json("/api/v1/shows?from=yesterday").await;
    assert_eq!(status, 400, "{bad}");

    // The feed, read by an independent parser.
    let ics = app.get_text("/streams/shows_fm/shows.ics").await;
    assert!(ics.starts_with("BEGIN:VCALENDAR"), "{ics}");
    let Some(python) = ical_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feed.ics");
    std::fs::write(&file, &ics).unwrap();
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg("import sys, icalendar\ncal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())\nfor e in cal.walk('VEVENT'):\n    print(e['SUMMARY'], e.decoded('DTSTART').isoformat(), e.decoded('DTEND').isoformat())")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = parsed.lines().collect();
    assert!(
        lines.len() >= 11,
        "twelve weeks less the skipped one: {parsed}"
    );
    for (line, start) in lines.iter().zip(&expected) {
        assert!(line.starts_with("Kraut Hour "), "{line}");
        assert!(
            line.contains(start.as_str()),
            "{line} should start at {start}"
        );
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The Python with `icalendar` (.ci/run installs it beside fediverse-pasture); required in CI.
fn ical_python() -> Option<String> {
    let python = std::env::var("ONAIR_PASTURE_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import icalendar"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !in_ci(),
            "Python's icalendar is required under CI=true (.ci/run installs it)"
        );
        eprintln!("skipped the feed's parse: no Python with icalendar ({python})");
        return None;
    }
    Some(python)
}

/// The dashboard schedules a show from its form (`datetime-local` start, minutes, zone,
/// repeat), lists it with its next date, refuses a bad one with the reason, and cancels it.
#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_schedules_lists_and_cancels_shows() {
    let app = spawn_app().await;
    let (_, seen) = followed(&app).await;
    let mut dj = crate::dashboard::Visitor::new(&app);
    dj.sign_in("dj", "correct horse battery").await;
    let (_, page, _) = dj.get("/dashboard").await;
    let csrf = crate::dashboard::csrf_of(&page);
    let start = (app.state.clock.now() + Duration::days(2))
        .format("%Y-%m-%dT20:00")
        .to_string();
    let form = |repeat: &str, zone: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("title", "Sunday Soul".to_owned()),
            ("start", start.clone()),
            ("duration_minutes", "90".to_owned()),
            ("time_zone", zone.to_owned()),
            ("repeat", repeat.to_owned()),
            ("exceptions", String::new()),
            ("description", "Soul records".to_owned()),
        ]
    };
    let as_pairs = |f: &[(&'static str, String)]| -> Vec<(&'static str, String)> { f.to_vec() };
    for (bad, why) in [
        (form("daily", "UTC"), "repeat"),
        (form("weekly", "Moon/Base"), "zone"),
    ] {
        let pairs = as_pairs(&bad);
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, _) = dj.post("/dashboard/streams/shows_fm/shows", &refs).await;
        assert_eq!(status, 400, "{why}");
    }
    let good = form("weekly", "Europe/Berlin");
    let refs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        dj.post("/dashboard/streams/shows_fm/shows", &refs).await.0,
        303
    );
    let (_, page, _) = dj.get("/dashboard").await;
    assert!(
        page.contains("Sunday Soul") && page.contains("Europe/Berlin, 90 min, weekly"),
        "{page}"
    );
    app.deliver_due().await;
    assert_eq!(seen.kinds(), ["Create"]);
    let id = app.state.db.read(Show::active).await.unwrap()[0].id;
    let cancel = [("csrf", csrf.as_str())];
    assert_eq!(
        dj.post(&format!("/dashboard/shows/{id}/cancel"), &cancel)
            .await
            .0,
        303
    );
    app.deliver_due().await;
    assert_eq!(seen.kinds(), ["Create", "Delete"]);
    assert_eq!(count_shows(&app).await, 0);
}
