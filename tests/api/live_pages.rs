//! Live pages hear of changes by notification: every change of status and title arrives as an
//! event, a quiet connection gets keep-alive comments, a stopping server ends the streams, and
//! on PostgreSQL a touch handled by another process reaches the page.

use std::time::Duration;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, touch_body};

/// An open `/streams/{handle}/events` connection.
struct Page(reqwest::Response);

impl Page {
    async fn open(app: &TestApp, handle: &str) -> Self {
        let res = app
            .client
            .get(app.url(&format!("/streams/{handle}/events")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Self(res)
    }

    /// The next chunk, or `None` when the server ended the stream.
    async fn next(&mut self, within: Duration) -> Option<String> {
        let chunk = tokio::time::timeout(within, self.0.chunk())
            .await
            .expect("something within the time")
            .unwrap();
        chunk.map(|c| String::from_utf8(c.to_vec()).unwrap())
    }

    /// The next event's data (keep-alive comments skipped).
    async fn event(&mut self) -> String {
        loop {
            let chunk = self.next(Duration::from_secs(10)).await.expect("an event");
            if let Some(data) = chunk.lines().find_map(|l| l.strip_prefix("data: ")) {
                return data.to_owned();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_change_of_status_and_title_arrives_in_order() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Night Jazz", "jazz").await;
    let mut page = Page::open(&app, "night_jazz").await;
    assert_eq!(page.event().await, r#"{"status":"live","title":""}"#);
    app.yp(&token, &touch_body(&sid, "So What", 1)).await;
    assert_eq!(page.event().await, r#"{"status":"live","title":"So What"}"#);
    // The same title again changes nothing the page shows: no event; the next one is news.
    app.yp(&token, &touch_body(&sid, "So What", 2)).await;
    app.yp(&token, &touch_body(&sid, "Blue in Green", 2)).await;
    assert_eq!(
        page.event().await,
        r#"{"status":"live","title":"Blue in Green"}"#
    );
    // A touch refused (unknown SID) is rolled back: nothing reaches the page.
    app.yp(&token, &touch_body("nope", "Never Played", 2)).await;
    let remove = format!("action=remove&sid={sid}");
    assert!(app.yp(&token, &remove).await.ok);
    assert_eq!(
        page.event().await,
        r#"{"status":"ending","title":"Blue in Green"}"#
    );
    let grace = i64::from(app.state.config.yp.end_grace) + 1;
    assert_eq!(app.advance_and_reap(grace).await.ended, 1);
    assert_eq!(page.event().await, r#"{"status":"offline","title":""}"#);
    // Back on air: a new broadcast.
    app.add(&token, "Night Jazz", "jazz").await;
    assert_eq!(page.event().await, r#"{"status":"live","title":""}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quiet_page_gets_keep_alives_and_a_stopping_server_ends_it() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    app.add(&token, "Quiet FM", "quiet").await;
    let mut page = Page::open(&app, "quiet_fm").await;
    page.event().await;
    // Nothing changes for 15 s: a comment keeps proxies from cutting the connection.
    let comment = page.next(Duration::from_secs(20)).await.unwrap();
    assert_eq!(comment, ": keep-alive\n\n");
    app.state.shutdown.trigger();
    assert_eq!(
        page.next(Duration::from_secs(5)).await,
        None,
        "the stream ends"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_touch_in_another_process_reaches_the_page() {
    let first = spawn_app().await;
    if first.state.db.backend() != onair::db::Backend::Postgres {
        println!("skipped: one process writes a SQLite database; run with ONAIR_TEST_DATABASE_URL");
        return;
    }
    let url = first.database_url.clone();
    let second = spawn_app_with(move |c| c.database_url = url).await;
    let token = first.broadcaster("alice").await;
    let sid = first.add(&token, "Two Rooms", "rooms").await;
    let mut page = Page::open(&first, "two_rooms").await;
    assert_eq!(page.event().await, r#"{"status":"live","title":""}"#);
    assert!(
        second
            .yp(&token, &touch_body(&sid, "Heard Next Door", 1))
            .await
            .ok
    );
    assert_eq!(
        page.event().await,
        r#"{"status":"live","title":"Heard Next Door"}"#
    );
    assert_eq!(first.state.live.watched(), 1);
}
