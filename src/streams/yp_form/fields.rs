//! Single fields of an add: the audio info, genres, URLs, numbers and the codec name.

use percent_encoding::percent_decode;

use super::{
    MAX_GENRE, MAX_GENRES, MAX_URL,
    form::{Form, clean},
};
use crate::{error::Error, text::clip};

/// Bitrate, sample rate and channels from ice-audio-info (`bitrate=128;samplerate=44100;channels=2`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct AudioInfo {
    pub(super) bitrate: Option<i32>,
    pub(super) samplerate: Option<i32>,
    pub(super) channels: Option<i32>,
}

impl AudioInfo {
    pub(super) fn from_form(form: &Form<'_>) -> Result<Self, Error> {
        // 2.4 appends it as a key without a value; 2.5 sends it as `audioinfo=`.
        let raw = match form.text("audioinfo")? {
            Some(v) => v,
            None => form.nameless().unwrap_or_default(),
        };
        let mut info = Self::default();
        for part in raw.split(';') {
            let Some((key, value)) = part.split_once('=') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            // Some source clients escape the value a second time (ices2: `quality=3%2e00`).
            let value = percent_decode(value.trim().as_bytes()).decode_utf8_lossy();
            let slot = match key.strip_prefix("ice-").unwrap_or(&key) {
                "bitrate" => &mut info.bitrate,
                "samplerate" => &mut info.samplerate,
                "channels" => &mut info.channels,
                _ => continue,
            };
            *slot = positive(&value);
        }
        Ok(info)
    }
}

pub(super) fn positive(s: &str) -> Option<i32> {
    s.trim().parse::<i32>().ok().filter(|n| *n > 0)
}

pub(super) fn is_web_url(s: &str) -> bool {
    s.len() <= MAX_URL
        && url::Url::parse(s)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Genres split the way the xiph directory splits them: on spaces, commas, slashes (and `;`).
pub(super) fn genres(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in raw
        .split([' ', ',', '/', ';'])
        .map(clean)
        .filter(|g| !g.is_empty())
    {
        let g = clip(&g, MAX_GENRE);
        if out.len() < MAX_GENRES && !out.iter().any(|o| o.eq_ignore_ascii_case(&g)) {
            out.push(g);
        }
    }
    out
}

/// A codec name for streams whose source sent no subtype (MP3 and AAC always do).
pub(super) fn codec_of(content_type: &str) -> &'static str {
    match content_type {
        "audio/mpeg" | "audio/mp3" => "MP3",
        "audio/aac" => "AAC",
        "audio/aacp" => "AAC+",
        "application/ogg" | "audio/ogg" => "Ogg",
        "audio/opus" => "Opus",
        "audio/flac" => "FLAC",
        "audio/webm" | "video/webm" => "WebM",
        "video/ogg" => "Theora",
        _ => "",
    }
}
