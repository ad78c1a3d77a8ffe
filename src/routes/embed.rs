//! A stream's player on other sites: `/streams/{handle}/embed` (a page any site may frame) and
//! `/oembed` (what a site's embed tool reads to build the frame).

use actix_web::{HttpResponse, http::header, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use crate::{
    error::{Error, Result},
    state::AppState,
    views::{Card, EmbedPage, Layout, Preview},
};

/// The pages' policy, but any site may frame this one and it posts no forms.
const EMBED_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
    connect-src 'self'; img-src 'self' https: data:; media-src http: https:; \
    form-action 'none'; frame-ancestors *; base-uri 'none'";

/// `GET /streams/{handle}/embed`
pub async fn embed(state: web::Data<AppState>, handle: web::Path<String>) -> Result<HttpResponse> {
    let (stream, active) = crate::streams::find(&state.db, &handle).await?;
    let urls = &state.urls;
    let page = EmbedPage {
        layout: Layout::new(urls),
        card: Card::local(&stream, active.as_ref(), urls),
        events: urls.stream_events(&stream.handle).path().to_owned(),
    };
    let body = page.render().map_err(|e| Error::Render(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, EMBED_CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(body))
}

/// `?url=…&format=json&maxwidth=…`, as oEmbed asks.
#[derive(Debug, Deserialize)]
pub struct OEmbedQuery {
    #[serde(default)]
    url: String,
    format: Option<String>,
    /// Read leniently: a value that is not a number is no limit.
    maxwidth: Option<String>,
    maxheight: Option<String>,
}

/// `GET /oembed?url=<a stream page>`: a `rich` embed of the player (oEmbed 1.0). 404 for a URL
/// that is not one of our streams, 501 for a format other than JSON (as the spec says).
pub async fn oembed(
    state: web::Data<AppState>,
    query: web::Query<OEmbedQuery>,
) -> Result<HttpResponse> {
    let query = query.into_inner();
    if query.format.as_deref().is_some_and(|f| f != "json") {
        return Ok(
            HttpResponse::NotImplemented().json(json!({ "error": "only format=json is served" }))
        );
    }
    let url = url::Url::parse(query.url.trim())
        .map_err(|_| Error::Invalid("url must be the address of a stream page here".to_owned()))?;
    let urls = &state.urls;
    let handle = urls
        .handle_of(&url)
        .ok_or_else(|| Error::NotFound(format!("{url} is not a stream here")))?;
    let (stream, active) = crate::streams::find(&state.db, &handle).await?;
    let card = Card::local(&stream, active.as_ref(), urls);
    let preview = Preview::of(&stream, &card, urls);
    // The frame fits the consumer's box: never wider or taller than asked (the player shrinks
    // with it), never larger than its own size.
    let limit = |asked: &Option<String>, own: u32| {
        asked
            .as_deref()
            .and_then(|a| a.trim().parse::<u32>().ok())
            .map_or(own, |a| a.clamp(1, own))
    };
    let width = limit(&query.maxwidth, preview.width);
    let height = limit(&query.maxheight, preview.height);
    let src = html_escape::encode_double_quoted_attribute(&preview.embed);
    let title = html_escape::encode_double_quoted_attribute(&preview.title);
    let mut answer = json!({
        "version": "1.0",
        "type": "rich",
        "provider_name": format!("onair · {}", urls.authority()),
        "provider_url": urls.home(),
        "title": preview.title,
        "author_name": preview.title,
        "author_url": preview.url,
        "thumbnail_url": preview.image,
        "width": width,
        "height": height,
        "html": format!(
            "<iframe src=\"{src}\" width=\"{width}\" height=\"{height}\" title=\"{title}\" \
             style=\"border:0\" allow=\"autoplay\" loading=\"lazy\"></iframe>"
        ),
    });
    if let Some((w, h)) = preview.image_size {
        (answer["thumbnail_width"], answer["thumbnail_height"]) = (json!(w), json!(h));
    }
    Ok(HttpResponse::Ok().json(answer))
}
