//! `/shows/{id}/reminders/{start}`: a show's reminder post, as it was sent (ActivityPub), else a
//! redirect to the show's page.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use chrono::NaiveDateTime;

use crate::{
    db::models::{Show, Stream},
    error::{Error, Result},
    federation::{ACTIVITY_JSON, event, note, wants_activity_json},
    state::AppState,
    streams::shows,
    urls::REMINDER_AT,
};

/// `GET /shows/{id}/reminders/{start}`: the Note while the reminder is due or past; 410 with a
/// Tombstone once the show is cancelled; 404 for a start that is not one of the show's.
pub async fn reminder(
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let (id, raw) = path.into_inner();
    let missing = || Error::NotFound(format!("reminder {raw} of show {id}"));
    let start = NaiveDateTime::parse_from_str(&raw, REMINDER_AT)
        .map_err(|_| missing())?
        .and_utc();
    let (show, stream) = state
        .db
        .read(move |c| {
            let show = Show::find(c, id)?;
            let stream = match &show {
                Some(s) => Stream::find(c, s.stream_id)?,
                None => None,
            };
            Ok(show.zip(stream))
        })
        .await?
        .ok_or_else(missing)?;
    let now = state.clock.now();
    if !shows::reminder_due(&stream, &show, start, now.and_utc()) {
        return Err(missing());
    }
    let urls = &state.urls;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !wants_activity_json(accept) {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, urls.show(id).as_str()))
            .finish());
    }
    if show.cancelled_at.is_some() {
        let id = urls.show_reminder(id, start);
        return Ok(HttpResponse::Gone()
            .content_type(ACTIVITY_JSON)
            .insert_header((header::VARY, "Accept"))
            .json(note::tombstone(&id, show.cancelled_at)));
    }
    let language = &state.config.language;
    let body = event::reminder(&stream, &show, start, stream.show_reminder, urls, language);
    Ok(HttpResponse::Ok()
        .content_type(ACTIVITY_JSON)
        .insert_header((header::VARY, "Accept"))
        .json(body))
}
