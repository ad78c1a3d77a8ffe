//! A raw YP request body → a validated [`YpRequest`] (parse, don't validate).
//!
//! Bodies are what Icecast really sends (../shared/yp/PROTOCOL.md §3): form-urlencoded with its own
//! lowercase escapes, a trailing CRLF on 2.4's add and touch that sticks to the last field, the
//! ice-audio-info header appended as a nameless key, and 2.5's extra fields. Every error message
//! tells the broadcaster what to change; Icecast writes it to its error.log.

use self::{
    fields::{AudioInfo, codec_of, genres, is_web_url, positive},
    form::{Form, clean},
};
use super::listen_url::ListenUrl;
use crate::{db::models::StreamProfile, error::Error, text::clip};

/// Longest stream name we list; longer ones are refused rather than cut, so names stay recognisable.
const MAX_NAME: usize = 200;
/// Descriptions are cut to this many characters.
const MAX_DESCRIPTION: usize = 2000;
/// Titles are cut to this many characters.
const MAX_TITLE: usize = 500;
const MAX_URL: usize = 500;
const MAX_GENRES: usize = 10;
const MAX_GENRE: usize = 40;
const MAX_TYPE: usize = 100;
const MAX_SID: usize = 128;

/// Names source clients and Icecast use when nobody configured one (after the xiph directory's list).
const DEFAULT_NAMES: &[&str] = &[
    "unspecified name",
    "this is my server name",
    "stream name",
    "my station name",
    "my stream",
    "no name",
    "-",
    "auto-dj",
    "autodj",
    "instreamer",
    "stream-128",
];

/// The three things Icecast says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Add,
    Touch,
    Remove,
}

impl Action {
    /// The action a body names, read on its own: a request refused for its other fields is
    /// still counted and noted under what it tried to do. `None`: no known action.
    pub fn of_body(body: &[u8]) -> Option<Self> {
        match Form::parse(body).text("action").ok()??.as_str() {
            "add" => Some(Self::Add),
            "touch" => Some(Self::Touch),
            "remove" => Some(Self::Remove),
            _ => None,
        }
    }

    /// The protocol's spelling, also the metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Touch => "touch",
            Self::Remove => "remove",
        }
    }
}

/// A YP request that passed every check.
#[derive(Debug, Clone)]
pub enum YpRequest {
    Add(Box<AddRequest>),
    Touch(TouchRequest),
    Remove(Sid),
}

/// `action=add`: a stream going on air.
#[derive(Debug, Clone)]
pub struct AddRequest {
    pub listen_url: ListenUrl,
    pub profile: StreamProfile,
    /// Mount path from the listen URL, used to derive a handle.
    pub mount: String,
    /// Problems that did not stop the add (told to the broadcaster in `YPMessage`).
    pub warnings: Vec<String>,
}

/// `action=touch`: the stream is still on air; what plays now.
#[derive(Debug, Clone)]
pub struct TouchRequest {
    pub sid: Sid,
    pub title: String,
    pub listeners: i32,
    pub max_listeners: Option<i32>,
}

/// A session id as Icecast echoes it: URL-safe characters only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sid(String);

impl Sid {
    /// A fresh random SID (24 letters and digits).
    pub fn generate() -> Self {
        Self(crate::accounts::random_alphanumeric(24))
    }

    fn parse(raw: &str) -> Result<Self, Error> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_SID
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::Invalid(
                "sid is missing or malformed; Icecast will add the stream again".to_owned(),
            ))
        }
    }

    /// The SID text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl YpRequest {
    /// Parses a request body. `allow_private` lets listen URLs point at local addresses.
    pub fn parse(body: &[u8], allow_private: bool) -> Result<Self, Error> {
        let form = Form::parse(body);
        match form.text("action")?.as_deref() {
            Some("add") => AddRequest::parse(&form, allow_private).map(|a| Self::Add(Box::new(a))),
            Some("touch") => TouchRequest::parse(&form).map(Self::Touch),
            Some("remove") => Sid::parse(&form.text("sid")?.unwrap_or_default()).map(Self::Remove),
            Some(other) => Err(Error::Invalid(format!(
                "unknown action {:?}: expected add, touch or remove",
                clip(other, 20)
            ))),
            None => Err(Error::Invalid(
                "missing action: expected add, touch or remove".to_owned(),
            )),
        }
    }

    /// Which action this is.
    pub fn action(&self) -> Action {
        match self {
            Self::Add(_) => Action::Add,
            Self::Touch(_) => Action::Touch,
            Self::Remove(_) => Action::Remove,
        }
    }
}

impl AddRequest {
    fn parse(form: &Form<'_>, allow_private: bool) -> Result<Self, Error> {
        let name = clean(&form.required(
            "sn",
            "the stream name: set <stream-name> on the mount or a name in your source client",
        )?);
        if DEFAULT_NAMES.contains(&name.to_lowercase().as_str()) || name.is_empty() {
            return Err(Error::Invalid(format!(
                "default stream name {:?} detected: configure a stream name in your source client or <stream-name> in icecast.xml",
                clip(&name, 40)
            )));
        }
        if name.chars().count() > MAX_NAME {
            return Err(Error::Invalid(format!(
                "stream name is longer than {MAX_NAME} characters: shorten it in your source client or <stream-name>"
            )));
        }
        let raw_url = form.required(
            "listenurl",
            "the listen URL (Icecast builds it from <hostname> and the port)",
        )?;
        let listen_url = ListenUrl::parse(raw_url.trim(), allow_private)?;
        let content_type = form
            .required("type", "the content type (set <type> on the mount)")?
            .trim()
            .to_ascii_lowercase();
        let type_ok = content_type.len() <= MAX_TYPE
            && content_type
                .split_once('/')
                .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
            && content_type.bytes().all(|b| b.is_ascii_graphic());
        if !type_ok {
            return Err(Error::Invalid(format!(
                "content type {:?} is not a MIME type such as audio/mpeg: check <type> on the mount",
                clip(&content_type, 40)
            )));
        }

        let mut warnings = Vec::new();
        let homepage = form
            .text("url")?
            .map(|u| u.trim().to_owned())
            .unwrap_or_default();
        let homepage = if homepage.is_empty() || is_web_url(&homepage) {
            homepage
        } else {
            warnings.push("ignored url (not an http(s) URL; check <stream-url>)".to_owned());
            String::new()
        };
        let description = match clean(&form.text("desc")?.unwrap_or_default()) {
            d if d.eq_ignore_ascii_case("unspecified description") => String::new(),
            d => clip(&d, MAX_DESCRIPTION),
        };
        let audio = AudioInfo::from_form(form)?;
        let codec = clip(&clean(&form.text("stype")?.unwrap_or_default()), MAX_TYPE);
        let codec = if codec.is_empty() {
            codec_of(&content_type).to_owned()
        } else {
            codec
        };
        let bitrate = form.text("b")?.and_then(|b| positive(&b)).or(audio.bitrate);

        Ok(Self {
            mount: listen_url.mount(),
            listen_url,
            profile: StreamProfile {
                name,
                description,
                genres: genres(&form.text("genre")?.unwrap_or_default()).join(","),
                homepage,
                content_type,
                codec,
                bitrate,
                samplerate: form
                    .text("samplerate")?
                    .and_then(|v| positive(&v))
                    .or(audio.samplerate),
                channels: form
                    .text("channels")?
                    .and_then(|v| positive(&v))
                    .or(audio.channels),
            },
            warnings,
        })
    }
}

impl TouchRequest {
    fn parse(form: &Form<'_>) -> Result<Self, Error> {
        let sid = Sid::parse(&form.text("sid")?.unwrap_or_default())?;
        // MP3 titles arrive with HTML numeric references for characters outside Latin-1.
        // Lenient on purpose: a refused touch delists the stream for 20 minutes (Icecast's retry),
        // too high a price for one badly encoded song title.
        let title = form.text_lossy("st").unwrap_or_default();
        let title = clip(
            &clean(&html_escape::decode_html_entities(&title)),
            MAX_TITLE,
        );
        let count = |key: &str| -> Result<Option<i32>, Error> {
            match form.text(key)?.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(v) => v
                    .parse::<u32>()
                    .map(|n| Some(i32::try_from(n).unwrap_or(i32::MAX)))
                    .map_err(|_| Error::Invalid(format!("{key} must be a whole number"))),
            }
        };
        Ok(Self {
            sid,
            title,
            listeners: count("listeners")?.unwrap_or(0),
            max_listeners: count("max_listeners")?,
        })
    }
}

mod fields;
mod form;

#[cfg(test)]
mod tests;
