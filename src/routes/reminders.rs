//! `/shows/{id}/reminders/{start}`: a show's reminder post as it was sent (ActivityPub), else a
//! redirect to the show's page.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use chrono::NaiveDateTime;

use crate::{
    db::models::{Show, ShowReminder, Stream},
    error::{Error, Result},
    federation::{ACTIVITY_JSON, event, note, wants_activity_json},
    state::AppState,
    urls::REMINDER_AT,
};

/// `GET /shows/{id}/reminders/{start}`: the Note of a reminder that was sent; 410 with a
/// Tombstone once it was taken back (or its show cancelled); 404 for one never sent.
pub async fn reminder(
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let (id, raw) = path.into_inner();
    let missing = || Error::NotFound(format!("reminder {raw} of show {id}"));
    let start = NaiveDateTime::parse_from_str(&raw, REMINDER_AT).map_err(|_| missing())?;
    let (show, stream, sent) = state
        .db
        .read(move |c| {
            let Some(sent) = ShowReminder::find(c, id, start)? else {
                return Ok(None);
            };
            let Some(show) = Show::find(c, id)? else {
                return Ok(None);
            };
            Ok(Stream::find(c, show.stream_id)?.map(|stream| (show, stream, sent)))
        })
        .await?
        .ok_or_else(missing)?;
    let urls = &state.urls;
    let accept = super::accept(&req);
    if !wants_activity_json(accept) {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, urls.show(id).as_str()))
            .finish());
    }
    if let Some(gone) = sent.withdrawn_at.or(show.cancelled_at) {
        let id = urls.show_reminder(id, start.and_utc());
        return Ok(HttpResponse::Gone()
            .content_type(ACTIVITY_JSON)
            .insert_header((header::VARY, "Accept"))
            .json(note::tombstone(&id, Some(gone))));
    }
    let language = &state.config.language;
    let body = event::reminder(
        &stream,
        &show,
        start.and_utc(),
        sent.minutes,
        sent.sent_at,
        urls,
        language,
    );
    Ok(HttpResponse::Ok()
        .content_type(ACTIVITY_JSON)
        .insert_header((header::VARY, "Accept"))
        .json(body))
}
