//! The HTML pages: home (what is live, local and federated), a stream's page, and the "follow
//! from your server" hop. Rendering is `views`; this file extracts, reads and answers.

use actix_web::{HttpResponse, http::header, web};
use askama::Template;
use serde::Deserialize;

use crate::{
    db::models::{Broadcast, Stream, StreamFilter},
    error::{Error, Result},
    listing::{self, Cursor, Origin},
    state::AppState,
    streams::codec::Codec,
    views::{Card, Filters, Home, Layout, StreamPage, path_and_query},
};

/// Streams per page of the home page.
const PAGE: i64 = 30;

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

/// The home page's query string.
#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    q: Option<String>,
    genre: Option<String>,
    codec: Option<String>,
    origin: Option<String>,
    cursor: Option<String>,
}

/// `GET /`
pub async fn home(
    state: web::Data<AppState>,
    query: web::Query<HomeQuery>,
) -> Result<HttpResponse> {
    let q = query.into_inner();
    let clean = |s: Option<String>| {
        s.map(|s| s.trim().chars().take(100).collect::<String>())
            .filter(|s| !s.is_empty())
    };
    let (text, genre) = (clean(q.q), clean(q.genre));
    let codec = clean(q.codec).and_then(|c| Codec::parse(&c));
    let origin = Origin::parse(q.origin.as_deref())?;
    let cursor = q.cursor.as_deref().map(Cursor::parse).transpose()?;
    let filter = StreamFilter {
        live_only: true,
        genre: genre.clone(),
        query: text.clone(),
        content_types: codec.map(Codec::content_types).unwrap_or_default(),
        before: None,
        limit: PAGE,
    };
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
    html(&Home {
        layout: layout(&state),
        cards: page
            .items
            .iter()
            .map(|i| Card::listed(i, &state.urls))
            .collect(),
        codecs: Codec::ALL.iter().map(|c| (c.as_str(), c.label())).collect(),
        origins: vec![
            ("all", "here and elsewhere"),
            ("local", "this instance"),
            ("remote", "other instances"),
        ],
        filters,
        next,
    })
}

/// The page of a local stream (the HTML side of `/streams/{handle}`).
pub fn stream_page(
    state: &AppState,
    stream: &Stream,
    active: Option<&Broadcast>,
) -> Result<HttpResponse> {
    let urls = &state.urls;
    html(&StreamPage {
        layout: layout(state),
        card: Card::local(stream, active, urls),
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

/// `GET /streams/{handle}/follow?instance=mastodon.social`: on to the visitor's own server, which
/// asks them to confirm the follow (Mastodon's `authorize_interaction`, understood widely).
pub async fn follow(
    state: web::Data<AppState>,
    handle: web::Path<String>,
    query: web::Query<FollowQuery>,
) -> Result<HttpResponse> {
    let (stream, _) = crate::streams::find(&state.db, &handle).await?;
    let instance = query
        .instance
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches('@')
        .trim_end_matches('/');
    // `alice@mastodon.social` names the server too.
    let host = instance
        .rsplit('@')
        .next()
        .unwrap_or(instance)
        .to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.contains('.')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    if !valid {
        return Err(Error::Invalid(format!(
            "{:?} is not a server name; give it as mastodon.social",
            query.instance
        )));
    }
    let mut target = url::Url::parse(&format!("https://{host}/authorize_interaction"))
        .map_err(|e| Error::Invalid(format!("{host}: {e}")))?;
    target
        .query_pairs_mut()
        .append_pair("uri", &state.urls.acct(&stream.handle));
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target.to_string()))
        .finish())
}
