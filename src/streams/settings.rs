//! What a broadcaster chooses about a stream, beyond what Icecast reports. A change that shows in
//! the actor document is announced to followers with an actor `Update`.

use chrono::NaiveDateTime;

use crate::{
    config::Config,
    db::{
        DbConn,
        models::{OnEnd, Stream},
    },
    error::{Error, Result},
    federation::announce,
    streams::listen_url::ListenUrl,
    text,
    urls::Urls,
};

/// The name, description and icon as the broadcaster writes them (empty: Icecast's).
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub icon: String,
}

/// A change to a stream's settings: each `None` leaves that setting as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub profile: Option<Profile>,
    pub https_listen_url: Option<String>,
    pub approval: Option<bool>,
    pub on_end: Option<OnEnd>,
}

impl Changes {
    /// Applies every change inside the caller's one write transaction, so a refused one (a bad
    /// icon or listen URL) leaves none applied; what shows in the actor is announced. The one
    /// way every front end changes a stream's settings.
    pub fn apply(
        &self,
        conn: &mut DbConn,
        stream: &mut Stream,
        config: &Config,
        urls: &Urls,
        now: NaiveDateTime,
    ) -> Result<()> {
        if let Some(p) = &self.profile {
            set_profile(conn, stream, &p.name, &p.description, &p.icon, urls, now)?;
        }
        if let Some(raw) = &self.https_listen_url {
            set_https_listen_url(conn, stream, raw, config.allow_private_networks)?;
        }
        if let Some(on) = self.approval {
            set_approval(conn, stream, on, urls, now)?;
        }
        if let Some(on_end) = self.on_end {
            set_on_end(conn, stream, on_end)?;
        }
        Ok(())
    }
}

/// Whether new follows wait for the broadcaster's approval (`manuallyApprovesFollowers`).
pub fn set_approval(
    conn: &mut DbConn,
    stream: &mut Stream,
    on: bool,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    if stream.approve_followers == on {
        return Ok(());
    }
    stream.set_approve_followers(conn, on)?;
    stream.approve_followers = on;
    announce::profile_changed(conn, stream, urls, now)
}

/// The stream's https address (its owner's TLS front or relay), which the in-page player uses;
/// empty clears it. Only https, with a public host unless private networks are allowed.
pub fn set_https_listen_url(
    conn: &mut DbConn,
    stream: &mut Stream,
    raw: &str,
    allow_private: bool,
) -> Result<()> {
    let raw = raw.trim();
    let url = if raw.is_empty() {
        None
    } else {
        let parsed = ListenUrl::parse(raw, allow_private)?;
        if !parsed.as_str().starts_with("https://") {
            return Err(Error::Invalid(format!(
                "{raw:?}: the https listen URL must start with https://"
            )));
        }
        Some(parsed.as_str().to_owned())
    };
    stream.set_https_listen_url(conn, url.as_deref())?;
    stream.https_listen_url = url;
    Ok(())
}

/// The name, description and icon people see, over what Icecast reports (empty: Icecast's).
/// Plain text, clamped; the icon must be https. A change is announced with an actor Update.
pub fn set_profile(
    conn: &mut DbConn,
    stream: &mut Stream,
    name: &str,
    description: &str,
    icon: &str,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let name = text::text(name, 100);
    let description = text::text(description, 2000);
    let icon = match icon.trim() {
        "" => None,
        raw => Some(
            text::http_url(raw)
                .filter(|u| u.starts_with("https://"))
                .ok_or_else(|| Error::Invalid(format!("{raw:?}: the icon must be an https URL")))?,
        ),
    };
    if (name.as_str(), description.as_str(), icon.as_deref())
        == (
            stream.display_name.as_str(),
            stream.display_description.as_str(),
            stream.icon_url.as_deref(),
        )
    {
        return Ok(());
    }
    stream.set_overrides(conn, &name, &description, icon.as_deref())?;
    (
        stream.display_name,
        stream.display_description,
        stream.icon_url,
    ) = (name, description, icon);
    announce::profile_changed(conn, stream, urls, now)
}

/// What followers are told when a broadcast ends; it applies to broadcasts that end from now on.
pub fn set_on_end(conn: &mut DbConn, stream: &mut Stream, on_end: OnEnd) -> Result<()> {
    stream.set_on_end(conn, on_end)?;
    stream.on_end = on_end;
    Ok(())
}
