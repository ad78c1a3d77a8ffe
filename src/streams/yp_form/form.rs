//! The form body as Icecast encodes it: its own lowercase escapes, `+` for spaces, a trailing CRLF
//! that sticks to the last value, and the audio info appended as a key without a name.

use std::borrow::Cow;

use percent_encoding::percent_decode;

use crate::error::Error;

/// A decoded form body: keys and values still as bytes, decoded to text only when asked for.
pub(super) struct Form<'a> {
    pairs: Vec<Pair<'a>>,
}

/// Key, value, and whether the key had an `=` (Icecast 2.4's audio info has none).
type Pair<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>, bool);

impl<'a> Form<'a> {
    pub(super) fn parse(body: &'a [u8]) -> Self {
        // Icecast 2.4 ends add and touch bodies with CRLF, counted in Content-Length.
        let end = body
            .iter()
            .rposition(|b| !matches!(b, b'\r' | b'\n'))
            .map_or(0, |i| i + 1);
        let pairs = body[..end]
            .split(|b| *b == b'&')
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.iter().position(|b| *b == b'=') {
                Some(i) => (decode(&pair[..i]), decode(&pair[i + 1..]), true),
                None => (Cow::Borrowed(&b""[..]), decode(pair), false),
            })
            .collect();
        Self { pairs }
    }

    /// The first value of `key` as UTF-8 text, `None` if absent.
    pub(super) fn text(&self, key: &str) -> Result<Option<String>, Error> {
        let Some((_, value, _)) = self
            .pairs
            .iter()
            .find(|(k, _, named)| *named && k.as_ref() == key.as_bytes())
        else {
            return Ok(None);
        };
        String::from_utf8(value.to_vec()).map(Some).map_err(|_| {
            Error::Invalid(format!(
                "{key} is not valid UTF-8: check the charset your source client sends"
            ))
        })
    }

    /// The first value of `key`, with invalid UTF-8 replaced by U+FFFD.
    pub(super) fn text_lossy(&self, key: &str) -> Option<String> {
        self.pairs
            .iter()
            .find(|(k, _, named)| *named && k.as_ref() == key.as_bytes())
            .map(|(_, v, _)| String::from_utf8_lossy(v).into_owned())
    }

    pub(super) fn required(&self, key: &str, what: &str) -> Result<String, Error> {
        match self.text(key)? {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(Error::Invalid(format!("missing {key}: {what}"))),
        }
    }

    /// The first key without a value (Icecast 2.4's ice-audio-info).
    pub(super) fn nameless(&self) -> Option<String> {
        self.pairs
            .iter()
            .find(|(_, v, named)| !named && !v.is_empty())
            .map(|(_, v, _)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Form decoding: `+` is a space, then percent-escapes (Icecast's are lowercase; both cases work).
pub(super) fn decode(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.iter().any(|b| matches!(b, b'+' | b'%')) {
        return Cow::Borrowed(raw);
    }
    let spaced: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    Cow::Owned(percent_decode(&spaced).collect())
}

/// Control characters become spaces; surrounding space goes.
pub(super) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}
