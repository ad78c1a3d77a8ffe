//! The crate's one error type. Its HTTP status comes from the single match in `status_code`.

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};

/// Every failure the library reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that breaks a rule; the message says what to fix and is safe to show the sender.
    #[error("{0}")]
    Invalid(String),
    /// A request whose sender could not be verified; the message says why.
    #[error("{0}")]
    Unauthorized(String),
    /// A request from a blocked domain or actor; the message says which.
    #[error("{0}")]
    Forbidden(String),
    /// A YP URL whose token is unknown, revoked, or belongs to a disabled account.
    #[error("this YP URL is unknown or was revoked; create a new one in onair and update <yp-url>")]
    UnknownToken,
    /// A YP touch or remove for a session id this directory does not hold.
    #[error("SID is unknown or expired; Icecast will add the stream again")]
    UnknownSid,
    /// A named thing that does not exist; the payload names it.
    #[error("{0} not found")]
    NotFound(String),
    /// A name or value already taken; the message names it.
    #[error("{0}")]
    Conflict(String),
    /// A per-account limit was reached; the message says which.
    #[error("{0}")]
    LimitReached(String),
    /// A client over its request rate on a route that costs work.
    #[error("too many requests from your address; try again in {retry_after} s")]
    Throttled { retry_after: u64 },
    /// The process holds as much of something as it allows, or could not answer in time; the
    /// message says what. Retrying later helps.
    #[error("{0}")]
    Overloaded(String),
    /// The client did not send its request in time; the message says which part.
    #[error("{0}")]
    TooSlow(String),
    /// Configuration that cannot be used; the message names the setting.
    #[error("configuration: {0}")]
    Config(String),
    /// A query failed.
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    /// No pooled database connection became free in time.
    #[error("database unavailable: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migration(Box<dyn std::error::Error + Send + Sync>),
    /// A blocking task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// A SQLite write batch could not be committed; the message is SQLite's.
    #[error("commit failed: {0}")]
    Commit(String),
    /// Too many writes are waiting; the caller should retry later.
    #[error("the database is busy; try again later")]
    Busy,
    /// The SQLite writer thread is gone (it could not start, or the process is stopping).
    #[error("the database writer is not running")]
    WriterGone,
    /// Making or reading an RSA key pair failed.
    #[error("key pair: {0}")]
    Keys(String),
    /// A federation request failed verification or parsing (signature, digest, the signer's
    /// actor document, the activity's shape). The sender's fault, never an internal one.
    #[error(transparent)]
    Federation(#[from] activitypub_federation::error::Error),
    /// A remote server failed or could not be reached; the message says how.
    #[error("{0}")]
    Remote(String),
    /// A page template failed to render (a bug: templates are checked when compiled).
    #[error("rendering a page failed: {0}")]
    Render(String),
    /// Hashing a password failed (it cannot for valid parameters; kept for completeness).
    #[error("password hashing failed")]
    PasswordHash,
}

/// A malformed activity is a 400; anything that keeps us from verifying who sent it (a bad or
/// missing signature or digest, a signer whose key cannot be fetched) is a 401, which tells
/// strict peers such as Fedify to retry with another signature scheme.
fn federation_status(e: &activitypub_federation::error::Error) -> StatusCode {
    use activitypub_federation::error::Error as Fed;
    match e {
        Fed::ParseReceivedActivity { .. } | Fed::UrlVerificationError(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when the fault is ours (database, pool, task), not the sender's: worth a log line and
    /// a retry, never a message that blames the input.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::Database(_)
                | Self::Pool(_)
                | Self::Migration(_)
                | Self::Join(_)
                | Self::Commit(_)
                | Self::WriterGone
                | Self::Busy
                | Self::Keys(_)
                | Self::Config(_)
                | Self::Render(_)
                | Self::PasswordHash
        )
    }

    /// A diesel unique-constraint violation (a concurrent insert won the race).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// The text shown to a client: the message itself, or a neutral one for internal faults.
    pub fn public_message(&self) -> String {
        if self.is_internal() {
            "the directory is temporarily unavailable; try again later".to_owned()
        } else {
            self.to_string()
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Remote(_) => StatusCode::BAD_GATEWAY,
            Self::Federation(e) => federation_status(e),
            Self::UnknownToken | Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::UnknownSid | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::LimitReached(_) | Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::TooSlow(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Pool(_) | Self::WriterGone | Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Config(_)
            | Self::Database(_)
            | Self::Migration(_)
            | Self::Join(_)
            | Self::Commit(_)
            | Self::Keys(_)
            | Self::Render(_)
            | Self::PasswordHash => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if self.is_internal() {
            tracing::error!(error = %self, "request failed");
        }
        let mut builder = HttpResponse::build(self.status_code());
        match self {
            Self::Throttled { retry_after } => {
                builder.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            Self::Overloaded(_) => {
                builder.insert_header((header::RETRY_AFTER, "10"));
            }
            Self::TooSlow(_) => {
                builder.insert_header((header::CONNECTION, "close"));
            }
            _ => {}
        }
        let mut res = builder.json(serde_json::json!({ "error": self.public_message() }));
        // Kept for `routes::html_errors`, which shows browsers a page instead of JSON.
        res.extensions_mut()
            .insert(PublicMessage(self.public_message()));
        res
    }
}

/// The message an error response shows, for middleware that renders it another way.
#[derive(Debug, Clone)]
pub struct PublicMessage(pub String);
