//! What a broadcaster chooses about a stream, beyond what Icecast reports. A change that shows in
//! the actor document is announced to followers with an actor `Update`.

use chrono::NaiveDateTime;

use crate::{
    config::Config,
    db::{
        DbConn,
        models::{OnEnd, PostStyle, Stream},
    },
    error::{Error, Result},
    federation::{announce, note},
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

/// How the posts read, as the broadcaster writes it (checked in [`set_post_style`]).
#[derive(Debug, Clone, Default)]
pub struct Posts {
    /// Title changes edit the go-live post.
    pub title_edits: bool,
    /// BCP 47, or empty for the instance's.
    pub language: String,
    /// The go-live text, or empty for the built-in one.
    pub template: String,
    /// A content warning, or empty.
    pub content_warning: String,
}

/// A change to a stream's settings: each `None` leaves that setting as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub profile: Option<Profile>,
    pub posts: Option<Posts>,
    /// The actor's header image (https), empty to clear.
    pub header: Option<String>,
    pub https_listen_url: Option<String>,
    pub approval: Option<bool>,
    pub on_end: Option<OnEnd>,
    /// Minutes before each scheduled show its followers get a reminder post (0: never).
    pub show_reminder: Option<i64>,
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
        if let Some(posts) = &self.posts {
            set_post_style(conn, stream, posts)?;
        }
        if let Some(raw) = &self.header {
            set_header(conn, stream, raw, urls, now)?;
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
        if let Some(minutes) = self.show_reminder {
            set_show_reminder(conn, stream, minutes)?;
        }
        Ok(())
    }
}

/// Longest time ahead of a show a reminder goes out, in minutes.
const REMINDER_MINUTES: i64 = 24 * 60;

/// How many minutes ahead of each scheduled show followers get a reminder post: 0 for none (the
/// default), else 5 to a day.
pub fn set_show_reminder(conn: &mut DbConn, stream: &mut Stream, minutes: i64) -> Result<()> {
    if minutes != 0 && !(5..=REMINDER_MINUTES).contains(&minutes) {
        return Err(Error::Invalid(format!(
            "a show reminder goes out 5 to {REMINDER_MINUTES} minutes ahead, or 0 for none; not {minutes}"
        )));
    }
    let minutes = i32::try_from(minutes).unwrap_or(0);
    stream.set_show_reminder(conn, minutes)?;
    stream.show_reminder = minutes;
    Ok(())
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

/// Longest go-live template and content warning, in characters.
const TEMPLATE: usize = 500;
const WARNING: usize = 200;

/// How the stream's posts read from its next post on: plain text, clamped; a template may use
/// only the placeholders of [`note::TEMPLATE_FIELDS`], and the language must be a BCP 47 tag.
pub fn set_post_style(conn: &mut DbConn, stream: &mut Stream, posts: &Posts) -> Result<()> {
    let language = match posts.language.trim() {
        "" => String::new(),
        raw => text::language(raw).ok_or_else(|| {
            Error::Invalid(format!(
                "{raw:?} is not a language tag; write one such as en, de or pt-BR"
            ))
        })?,
    };
    let template = text::text(&posts.template, TEMPLATE);
    if let Some(unknown) = unknown_placeholder(&template) {
        return Err(Error::Invalid(format!(
            "the post text uses {unknown}, which is not a placeholder; use {}",
            note::TEMPLATE_FIELDS.join(", ")
        )));
    }
    let style = PostStyle {
        title_edits: posts.title_edits,
        language,
        post_template: template,
        content_warning: text::text(&posts.content_warning, WARNING),
    };
    if style == stream.post_style() {
        return Ok(());
    }
    stream.set_post_style(conn, &style)?;
    (stream.title_edits, stream.language) = (style.title_edits, style.language);
    (stream.post_template, stream.content_warning) = (style.post_template, style.content_warning);
    Ok(())
}

/// A `{word}` in a template that is none of the placeholders.
fn unknown_placeholder(template: &str) -> Option<&str> {
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        let tail = &rest[at..];
        let end = tail.find('}').map(|i| i + 1);
        match end.map(|e| &tail[..e]) {
            Some(word)
                if word[1..word.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && word.len() > 2
                    && !note::TEMPLATE_FIELDS.contains(&word) =>
            {
                return Some(word);
            }
            _ => rest = &tail[1..],
        }
    }
    None
}

/// An https URL, or `None` for empty; `what` names it in the refusal.
fn https_image(raw: &str, what: &str) -> Result<Option<String>> {
    match raw.trim() {
        "" => Ok(None),
        raw => text::http_url(raw)
            .filter(|u| u.starts_with("https://"))
            .map(Some)
            .ok_or_else(|| Error::Invalid(format!("{raw:?}: the {what} must be an https URL"))),
    }
}

/// The actor's header image (https; empty clears it), announced with an actor Update.
pub fn set_header(
    conn: &mut DbConn,
    stream: &mut Stream,
    raw: &str,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let header = https_image(raw, "header image")?;
    if header == stream.header_url {
        return Ok(());
    }
    stream.set_header_url(conn, header.as_deref())?;
    stream.header_url = header;
    announce::profile_changed(conn, stream, urls, now)
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
    let icon = https_image(icon, "icon")?;
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
