//! `POST /inbox` and `POST /streams/{handle}/inbox`: one call into the library, which verifies
//! the signature, then [`InboxActivity`]'s own rules.

use activitypub_federation::{actix_web::inbox::receive_activity, config::Data};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::{
    error::Result,
    federation::{inbox::InboxActivity, remote_actor::RemoteActor, skew},
    state::AppState,
};

/// Largest activity accepted; bigger bodies get 413 before anything is parsed.
pub const MAX_BODY: usize = 1024 * 1024;

/// Both inboxes: which actor a Follow is for comes from its `object`, not from the path.
#[tracing::instrument(skip_all)]
pub async fn post_inbox(
    req: HttpRequest,
    body: web::Bytes,
    data: Data<AppState>,
) -> Result<HttpResponse> {
    skew::check(req.headers(), chrono::Utc::now())?;
    receive_activity::<InboxActivity, RemoteActor, AppState>(req, body, &data).await?;
    Ok(HttpResponse::Accepted().finish())
}
