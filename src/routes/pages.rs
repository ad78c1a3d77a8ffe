//! The HTML pages: home (what is live, local and federated), a stream's page, and the "follow
//! from your server" hop. Rendering is `views`; this file extracts, reads and answers.

use actix_web::{HttpResponse, http::header, web};
use askama::Template;
use serde::Deserialize;

use super::filters::{ListQuery, Listing};
use crate::{
    db::models::{Broadcast, Stream},
    error::{Error, Result},
    federation::interact::{self, Visitor},
    listing::{self, Origin},
    state::AppState,
    streams::codec::Codec,
    views::{Card, Filters, Home, Layout, Preview, StreamPage, Upcoming, path_and_query},
};

/// Streams per page of the home page.
const PAGE: i64 = 30;

/// Streams on a genre's page (one page, the most the listing gives).
const TAG_PAGE: i64 = 200;

/// What every page may load: our own styles and script, audio from any stream, images from
/// https; nothing framed, forms only to us (and, through the follow hop, to the visitor's
/// server).
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
    connect-src 'self'; img-src 'self' https: data:; media-src http: https:; \
    form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'";

/// An HTML answer with the security headers every page carries.
pub fn html(page: &impl Template) -> Result<HttpResponse> {
    let body = page.render().map_err(|e| Error::Render(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::VARY, "Accept"))
        .body(body))
}

fn layout(state: &AppState) -> Layout {
    Layout::new(&state.urls)
}

/// `GET /`
pub async fn home(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    // A bad filter is said on the page, over the unfiltered list (the API answers it 400).
    let (listing, problem) = match Listing::try_from(query.into_inner()) {
        Ok(listing) => (listing, None),
        Err(Error::Invalid(message)) => (Listing::try_from(ListQuery::default())?, Some(message)),
        Err(e) => return Err(e),
    };
    let Listing {
        mut filter,
        origin,
        cursor,
        codec,
    } = listing;
    let cursor_given = cursor.is_some();
    // The home page shows what is live, a page at a time.
    (filter.live_only, filter.limit) = (true, PAGE);
    let (text, genre) = (filter.query.clone(), filter.genre.clone());
    let page = listing::list(&state.db, filter, origin, cursor).await?;
    let filters = Filters {
        any: text.is_some() || genre.is_some() || codec.is_some() || origin != Origin::All,
        q: text.unwrap_or_default(),
        genre: genre.unwrap_or_default(),
        codec: codec.map(Codec::as_str).unwrap_or_default().to_owned(),
        origin: origin.as_str().to_owned(),
    };
    let next = page.next.map(|c| {
        let mut url = state.urls.home();
        url.query_pairs_mut()
            .append_pair("q", &filters.q)
            .append_pair("genre", &filters.genre)
            .append_pair("codec", &filters.codec)
            .append_pair("origin", &filters.origin)
            .append_pair("cursor", &c.render());
        path_and_query(&url)
    });
    let cards = page
        .items
        .iter()
        .map(|i| Card::listed(i, &state.urls))
        .collect();
    // The week's shows, on the first page only.
    let upcoming = if cursor_given {
        Vec::new()
    } else {
        upcoming(&state, None, 7).await?
    };
    let mut page = listing_page(
        &state,
        "Live now".to_owned(),
        filters,
        cards,
        next,
        (problem.clone(), upcoming),
    )?;
    if problem.is_some() {
        *page.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(page)
}

/// `GET /tags/{tag}`: the streams of one genre, here and elsewhere, live first (what a Note's
/// hashtag links to).
pub async fn tag(
    state: web::Data<AppState>,
    tag: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse> {
    let query = ListQuery {
        genre: Some(tag.into_inner()),
        status: Some("all".to_owned()),
        limit: Some(TAG_PAGE.to_string()),
        ..ListQuery::default()
    };
    let Listing { filter, origin, .. } = Listing::try_from(query)?;
    let genre = filter.genre.clone().unwrap_or_default();
    let page = listing::list(&state.db, filter, origin, None).await?;
    if wants_json(&req) {
        return Ok(super::api::tag_json(&genre, page.items, &state.urls));
    }
    let mut cards: Vec<Card> = page
        .items
        .iter()
        .map(|i| Card::listed(i, &state.urls))
        .collect();
    // Stable: within live and within off-air, the listing's order stays.
    cards.sort_by_key(|c| !c.live);
    let filters = Filters {
        any: true,
        genre: genre.clone(),
        origin: origin.as_str().to_owned(),
        ..Filters::default()
    };
    listing_page(
        &state,
        format!("#{genre}"),
        filters,
        cards,
        None,
        (None, Vec::new()),
    )
}

/// A client that asks for JSON over HTML (`Accept: application/json`).
fn wants_json(req: &actix_web::HttpRequest) -> bool {
    let accept = super::accept(req);
    accept.contains("json") && !accept.contains("text/html")
}

/// The shows of the next `days`, here (of one stream, or all), soonest first.
async fn upcoming(state: &AppState, stream_id: Option<i64>, days: i64) -> Result<Vec<Upcoming>> {
    let now = state.clock.now().and_utc();
    let to = now + chrono::TimeDelta::days(days);
    let found = crate::streams::shows::occurrences(&state.db, stream_id, now, to).await?;
    let mut list: Vec<Upcoming> = found
        .iter()
        .map(|(show, stream, when)| Upcoming::of(show, stream, *when, &state.urls))
        .collect();
    // The instance's list holds the followed streams' shows beside ours.
    if stream_id.is_none() {
        let (from, to) = (now.naive_utc(), to.naive_utc());
        let remote = state
            .db
            .read(move |c| crate::db::models::RemoteShow::between(c, from, to))
            .await?;
        list.extend(remote.iter().map(|(s, r)| Upcoming::remote(s, r)));
        list.sort_by(|a, b| a.start.cmp(&b.start));
    }
    Ok(list)
}

/// The home page's template, for the home page and a genre's.
fn listing_page(
    state: &AppState,
    heading: String,
    filters: Filters,
    cards: Vec<Card>,
    next: Option<String>,
    (problem, upcoming): (Option<String>, Vec<Upcoming>),
) -> Result<HttpResponse> {
    html(&Home {
        layout: layout(state),
        heading,
        cards,
        codecs: Codec::ALL.iter().map(|c| (c.as_str(), c.label())).collect(),
        origins: vec![
            ("all", "here and elsewhere"),
            ("local", "this instance"),
            ("remote", "other instances"),
        ],
        filters,
        next,
        problem,
        upcoming,
        calendar: state.urls.calendar().path().to_owned(),
    })
}

/// The page of a local stream (the HTML side of `/streams/{handle}`).
pub async fn stream_page(
    state: &AppState,
    stream: &Stream,
    active: Option<&Broadcast>,
) -> Result<HttpResponse> {
    let urls = &state.urls;
    let card = Card::local(stream, active, urls);
    let upcoming = upcoming(state, Some(stream.id), 28).await?;
    html(&StreamPage {
        upcoming,
        calendar: urls.stream_calendar(&stream.handle).path().to_owned(),
        layout: layout(state),
        preview: Preview::of(stream, &card, urls),
        card,
        description: stream.shown_description().to_owned(),
        events: urls.stream_events(&stream.handle).path().to_owned(),
        follow_action: urls.stream_follow(&stream.handle).path().to_owned(),
        m3u: urls
            .stream_playlist(&stream.handle, "m3u")
            .path()
            .to_owned(),
        xspf: urls
            .stream_playlist(&stream.handle, "xspf")
            .path()
            .to_owned(),
    })
}

/// The "follow from your server" form.
#[derive(Debug, Deserialize)]
pub struct FollowQuery {
    instance: String,
}

/// `GET /streams/{handle}/follow?instance=mastodon.social` (or `alice@misskey.example`): on to
/// the visitor's own server's follow page, found by asking it (`federation::interact`).
pub async fn follow(
    state: web::Data<AppState>,
    handle: web::Path<String>,
    query: web::Query<FollowQuery>,
) -> Result<HttpResponse> {
    let (stream, _) = crate::streams::find(&state.db, &handle).await?;
    let visitor = Visitor::parse(&query.instance, state.config.allow_private_networks)?;
    let ours = state.urls.mention(&stream.handle);
    let target =
        interact::follow_page(&state.origin_client, &visitor, ours.trim_start_matches('@')).await;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target.to_string()))
        .finish())
}
