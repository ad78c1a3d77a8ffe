//! The web pages: askama templates (`templates/`, checked at compile time, escaping everything)
//! and the view models they show. Handlers in `routes::pages` build these and render them.

use askama::Template;

use crate::{
    db::models::{Broadcast, RemoteBroadcast, RemoteShow, RemoteStream, Stream},
    delivery::OpenHost,
    listing::Listed,
    streams::StreamStatus,
    urls::Urls,
};

/// What every page's frame shows.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The instance's host, as people know it.
    pub site: String,
    /// Every link and form action of a page comes from here.
    pub urls: Urls,
    /// The page is shown to a signed-in admin: the navigation links the admin page. (Public
    /// pages never read the session, so they never show it.)
    pub admin: bool,
}

impl Layout {
    pub fn new(urls: &Urls) -> Self {
        Self {
            site: urls.authority(),
            urls: urls.clone(),
            admin: false,
        }
    }

    /// The frame of a signed-in page.
    pub fn signed_in(urls: &Urls, admin: bool) -> Self {
        Self {
            admin,
            ..Self::new(urls)
        }
    }
}

/// One stream as a card: the home page's list item and the stream page's header.
#[derive(Debug, Clone)]
pub struct Card {
    pub name: String,
    /// Where its page is: ours for a local stream, the remote profile for a catalog one.
    pub page: String,
    /// `@handle@host`, what people search for on their server.
    pub handle: String,
    /// `local` or the remote host.
    pub origin: String,
    pub live: bool,
    /// The source stopped: the broadcast ends after its grace unless the source comes back
    /// (shown as such, without a player).
    pub ending: bool,
    /// When the broadcast started: (machine-readable, as people read it in UTC).
    pub since: Option<(String, String)>,
    pub title: Option<String>,
    /// (genre, the home page filtered to it)
    pub genres: Vec<(String, String)>,
    /// Content type and bitrate, as people read them.
    pub format: Option<String>,
    pub listeners: Option<i32>,
    pub listen_url: String,
    /// The page's `<audio>` can play it: not an http stream on an https page.
    pub playable: bool,
    /// Our playlist of it (local streams).
    pub playlist: Option<String>,
}

fn format_of(content_type: &str, bitrate: Option<i32>) -> Option<String> {
    let kind = match content_type {
        "audio/mpeg" | "audio/mp3" => "MP3",
        "audio/ogg" | "application/ogg" => "Ogg",
        "audio/opus" => "Opus",
        "audio/aac" | "audio/aacp" | "audio/x-aac" => "AAC",
        "audio/flac" | "audio/x-flac" => "FLAC",
        "" => return bitrate.map(|b| format!("{b} kbit/s")),
        other => other,
    };
    Some(match bitrate {
        Some(b) => format!("{kind} {b} kbit/s"),
        None => kind.to_owned(),
    })
}

/// A start time for `<time datetime>` and for people (UTC: pages carry no visitor time zone).
fn since(t: chrono::NaiveDateTime) -> (String, String) {
    let t = t.and_utc();
    (
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        t.format("%H:%M UTC, %b %-d").to_string(),
    )
}

/// An `<audio>` on an https page cannot play an http stream (mixed content).
fn playable(listen_url: &str, urls: &Urls) -> bool {
    urls.home().scheme() != "https" || listen_url.starts_with("https://")
}

/// Each genre with its link, the home page filtered to it.
fn genre_links(genres: Vec<&str>, urls: &Urls) -> Vec<(String, String)> {
    genres
        .into_iter()
        .map(|g| (g.to_owned(), path_and_query(&urls.home_genre(g))))
        .collect()
}

/// A link to one of our pages as the templates write it: the path (and query), no host.
pub fn path_and_query(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

impl Card {
    /// A local stream.
    pub fn local(stream: &Stream, active: Option<&Broadcast>, urls: &Urls) -> Self {
        let status = StreamStatus::of(active);
        Self {
            name: stream.shown_name().to_owned(),
            page: urls.stream(&stream.handle).into(),
            handle: urls.mention(&stream.handle),
            origin: "local".to_owned(),
            live: status != StreamStatus::Offline,
            ending: status == StreamStatus::Ending,
            since: active.map(|b| since(b.started_at)),
            title: active.map(|b| b.title.clone()).filter(|t| !t.is_empty()),
            genres: genre_links(stream.genre_list(), urls),
            format: format_of(&stream.content_type, stream.bitrate),
            listeners: active.map(|b| b.listeners),
            // The owner's https address plays on https pages too.
            playable: playable(
                stream
                    .https_listen_url
                    .as_deref()
                    .unwrap_or(&stream.listen_url),
                urls,
            ),
            listen_url: stream
                .https_listen_url
                .clone()
                .unwrap_or_else(|| stream.listen_url.clone()),
            playlist: Some(urls.stream_playlist(&stream.handle, "m3u").into()),
        }
    }

    /// A stream of the federated catalog.
    pub fn remote(stream: &RemoteStream, live: Option<&RemoteBroadcast>, urls: &Urls) -> Self {
        let listen_url = live.map(|b| b.listen_url.clone()).unwrap_or_default();
        Self {
            name: stream.name.clone(),
            page: stream
                .url
                .clone()
                .unwrap_or_else(|| stream.actor_id.clone()),
            handle: format!("@{}@{}", stream.handle, stream.host),
            origin: stream.host.clone(),
            live: live.is_some(),
            ending: false,
            since: live.map(|b| since(b.started_at)),
            title: live.map(|b| b.title.clone()).filter(|t| !t.is_empty()),
            genres: genre_links(stream.genre_list(), urls),
            format: live.and_then(|b| format_of(&b.content_type, b.bitrate)),
            listeners: None,
            playable: playable(&listen_url, urls),
            listen_url,
            playlist: None,
        }
    }

    /// Either kind, as the listing gives it.
    pub fn listed(item: &Listed, urls: &Urls) -> Self {
        match item {
            Listed::Local(s, b) => Self::local(s, b.as_ref(), urls),
            Listed::Remote(s, b) => Self::remote(s, b.as_ref(), urls),
        }
    }
}

/// The filters as the home page's form shows them.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub q: String,
    pub genre: String,
    pub codec: String,
    pub origin: String,
    /// Any filter is set (the empty state then says so).
    pub any: bool,
}

/// `GET /` and `GET /tags/{tag}`
#[derive(Template)]
#[template(path = "home.html")]
pub struct Home {
    pub layout: Layout,
    /// "Live now", or a genre's hashtag.
    pub heading: String,
    pub filters: Filters,
    pub codecs: Vec<(&'static str, &'static str)>,
    pub origins: Vec<(&'static str, &'static str)>,
    pub cards: Vec<Card>,
    /// The next page's URL.
    pub next: Option<String>,
    /// What was wrong with the filters asked for (the page then lists everything live).
    pub problem: Option<String>,
    /// Scheduled shows of the next week (the home page only).
    pub upcoming: Vec<Upcoming>,
    /// The instance's calendar feed.
    pub calendar: String,
}

/// What a link to a stream page previews as elsewhere: OpenGraph and the player card
/// (Mastodon reads `og:*`, and `twitter:player` for an embedded player; oEmbed for others).
#[derive(Debug, Clone)]
pub struct Preview {
    pub title: String,
    pub description: String,
    /// The stream's picture, else our default card image (with its size).
    pub image: String,
    pub image_size: Option<(u32, u32)>,
    pub url: String,
    /// The player alone, for frames.
    pub embed: String,
    pub oembed: String,
    /// The embed's frame size.
    pub width: u32,
    pub height: u32,
}

impl Preview {
    /// The size of the embed's frame.
    pub const PLAYER: (u32, u32) = (480, 160);

    pub fn of(stream: &Stream, card: &Card, urls: &Urls) -> Self {
        let page = urls.stream(&stream.handle);
        let description = match (&card.title, card.live) {
            (Some(t), true) => format!("On air now: {t}"),
            (None, true) => "On air now.".to_owned(),
            _ => stream.shown_description().to_owned(),
        };
        let (image, image_size) = match &stream.icon_url {
            Some(icon) => (icon.clone(), None),
            None => (urls.card_image().into(), Some((1200, 630))),
        };
        Self {
            title: card.name.clone(),
            description,
            image,
            image_size,
            embed: urls.stream_embed(&stream.handle).into(),
            oembed: urls.oembed(&page).into(),
            url: page.into(),
            width: Self::PLAYER.0,
            height: Self::PLAYER.1,
        }
    }
}

/// `GET /streams/{handle}/embed`: the player alone, for other sites' frames.
#[derive(Template)]
#[template(path = "embed.html")]
pub struct EmbedPage {
    pub layout: Layout,
    pub card: Card,
    pub events: String,
}

/// The HTML side of `GET /streams/{handle}`.
#[derive(Template)]
#[template(path = "stream.html")]
pub struct StreamPage {
    pub layout: Layout,
    pub card: Card,
    pub preview: Preview,
    pub description: String,
    /// Where the page listens for title changes (Server-Sent Events).
    pub events: String,
    pub follow_action: String,
    /// The stream's shows of the next weeks, and its calendar feed.
    pub upcoming: Vec<Upcoming>,
    pub calendar: String,
    pub m3u: String,
    pub xspf: String,
}

/// `GET /login`
#[derive(Template)]
#[template(path = "login.html")]
pub struct Login {
    pub layout: Layout,
    pub csrf: String,
    /// Where to go once signed in (a path of ours), or empty for the dashboard.
    pub next: String,
    pub name: String,
    pub error: Option<String>,
}

/// A YP URL just made: shown once.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: i64,
    pub label: String,
    pub url: String,
    /// The parts of icecast.xml to set: `<hostname>`, a public mount, `<directory>`.
    pub block: String,
}

/// One of the broadcaster's streams on the dashboard.
#[derive(Debug, Clone)]
pub struct StreamPanel {
    pub card: Card,
    pub handle: String,
    pub followers: i64,
    pub pending: usize,
    /// Actor ids waiting for approval.
    pub waiting: Vec<String>,
    /// (id, title, when as written, next date) of the stream's scheduled shows.
    pub shows: Vec<(i64, String, String, String)>,
    pub approval: bool,
    pub keep_posts: bool,
    /// The owner's https listen URL, or empty.
    pub https_url: String,
    /// The owner's name, description and icon over Icecast's, or empty.
    pub display_name: String,
    pub display_description: String,
    pub icon_url: String,
    pub header_url: String,
    /// Title changes edit the go-live post.
    pub title_edits: bool,
    /// The stream's language, or empty; and the instance's, shown as the placeholder.
    pub language: String,
    pub default_language: String,
    pub post_template: String,
    pub content_warning: String,
    /// Minutes before a show its followers are reminded (0: never).
    pub show_reminder: i32,
}

/// One YP URL on the dashboard (its secret is never shown again).
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    pub label: String,
    pub created: String,
    pub used: Option<String>,
    pub revoked: bool,
    /// The last request: when, what, and what Icecast was told.
    pub last: Option<Exchange>,
    /// The last refusal, when there was one (kept after later successes).
    pub refused: Option<Exchange>,
}

/// A YP request as the dashboard shows it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub at: String,
    pub action: String,
    pub ok: bool,
    pub message: String,
}

/// `GET /dashboard`
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct Dashboard {
    pub layout: Layout,
    pub user: String,
    pub csrf: String,
    pub new_token: Option<NewToken>,
    pub streams: Vec<StreamPanel>,
    /// (when, activity type, inbox, state) of recent deliveries, newest first.
    pub deliveries: Vec<(String, String, String, String)>,
    pub tokens: Vec<TokenRow>,
}

/// `GET /admin`
#[derive(Template)]
#[template(path = "admin.html")]
pub struct Admin {
    pub layout: Layout,
    pub csrf: String,
    /// What the last action did (a new account's password, shown once).
    pub note: Option<String>,
    /// The remote stream the follow form is filled with, or empty.
    pub follow: String,
    /// (name, role, since, disabled)
    pub users: Vec<(String, &'static str, String, bool)>,
    /// (actor, state) of followed remote streams.
    pub remote: Vec<(String, String)>,
    /// (actor or inbox, state) of relays.
    pub relays: Vec<(String, String)>,
    /// (kind, value)
    pub blocks: Vec<(String, String)>,
    /// (state, count) of deliveries.
    pub queue: Vec<(String, i64)>,
    /// Hosts left alone after repeated failures.
    pub breakers: Vec<OpenHost>,
}

/// An error, for a browser.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
    /// Where "Back" goes: the page the form was on, else home.
    pub back: String,
}

/// One occurrence of a scheduled show in a list or on its page.
#[derive(Debug, Clone)]
pub struct Upcoming {
    pub title: String,
    /// The show's page.
    pub url: String,
    pub stream: String,
    pub stream_page: String,
    /// The start for `<time datetime>` (pages show it in the visitor's zone when scripts run).
    pub start: String,
    /// Start and end as written in the show's own zone, with the zone.
    pub shown: String,
    pub live: bool,
    pub weekly: bool,
}

impl Upcoming {
    pub fn of(
        show: &crate::db::models::Show,
        stream: &Stream,
        when: crate::federation::event::When,
        urls: &Urls,
    ) -> Self {
        let shown = match crate::timetable::zone(&show.time_zone) {
            Ok(zone) => format!(
                "{}–{} {}",
                when.start.with_timezone(&zone).format("%a %-d %b, %H:%M"),
                when.end.with_timezone(&zone).format("%H:%M"),
                show.time_zone
            ),
            Err(_) => when.start.format("%a %-d %b, %H:%M UTC").to_string(),
        };
        Self {
            title: show.title.clone(),
            url: urls.show(show.id).path().to_owned(),
            stream: stream.shown_name().to_owned(),
            stream_page: urls.stream(&stream.handle).path().to_owned(),
            start: when
                .start
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            shown,
            live: when.live,
            weekly: show.weekly,
        }
    }
}

impl Upcoming {
    /// A followed remote stream's show, as its origin announced it.
    pub fn remote(show: &RemoteShow, stream: &RemoteStream) -> Self {
        let (start, end) = (show.starts_at.and_utc(), show.ends_at.and_utc());
        let shown = match crate::timetable::zone(&show.time_zone) {
            Ok(zone) => format!(
                "{}–{} {}",
                start.with_timezone(&zone).format("%a %-d %b, %H:%M"),
                end.with_timezone(&zone).format("%H:%M"),
                zone.name()
            ),
            Err(_) => format!(
                "{}–{} UTC",
                start.format("%a %-d %b, %H:%M"),
                end.format("%H:%M")
            ),
        };
        Self {
            title: show.title.clone(),
            url: show.url.clone().unwrap_or_else(|| show.object_id.clone()),
            stream: format!("{} · {}", stream.name, stream.host),
            stream_page: stream
                .url
                .clone()
                .unwrap_or_else(|| stream.actor_id.clone()),
            start: start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            shown,
            live: show.live,
            weekly: false,
        }
    }
}

/// `GET /shows/{id}` in a browser.
#[derive(Template)]
#[template(path = "show.html")]
pub struct ShowPage {
    pub layout: Layout,
    pub item: Upcoming,
    pub description: String,
    pub cancelled: bool,
    /// The stream's calendar feed.
    pub calendar: String,
}
