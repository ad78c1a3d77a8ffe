//! `POST /inbox` and `POST /streams/{handle}/inbox`: the signature is verified, then
//! [`inbox::receive`] applies its own rules.

use activitypub_federation::config::Data;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::{error::Result, federation::inbox, state::AppState};

/// Largest activity accepted; bigger bodies get 413 before anything is parsed.
pub const MAX_BODY: usize = 1024 * 1024;

/// Both inboxes: which actor a Follow is for comes from its `object`, not from the path.
#[tracing::instrument(skip_all)]
pub async fn post_inbox(
    req: HttpRequest,
    body: web::Bytes,
    data: Data<AppState>,
) -> Result<HttpResponse> {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let signer = data
        .verifier
        .verify(&data, req.method(), path, req.headers(), Some(&body))
        .await?;
    inbox::receive(&data, &signer, &body).await?;
    Ok(HttpResponse::Accepted().finish())
}
