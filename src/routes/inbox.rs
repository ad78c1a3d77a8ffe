//! `POST /inbox` and `POST /streams/{handle}/inbox`: the signature is verified, then
//! [`inbox::receive`] applies its own rules.

use activitypub_federation::config::Data;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::{
    error::Result,
    federation::{inbox, verifier},
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
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let outcome =
        match verifier::verify(&data, req.method(), path, req.headers(), Some(&body)).await {
            Ok(signer) => inbox::receive(&data, &signer, &body).await,
            Err(e) => Err(e),
        };
    let result = match &outcome {
        Ok(()) => "accepted",
        Err(e) if e.status_code().is_server_error() => "error",
        Err(_) => "refused",
    };
    data.metrics.inbox_request(result);
    if let Err(e) = &outcome
        && e.status_code().is_server_error()
    {
        tracing::error!(error = %e, "inbox request failed");
    }
    outcome.map(|()| HttpResponse::Accepted().finish())
}
