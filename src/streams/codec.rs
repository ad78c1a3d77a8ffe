//! Codecs listeners filter by, as the content types Icecast and other onair instances report.

/// A codec family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Mp3,
    Ogg,
    Aac,
    Flac,
}

impl Codec {
    /// Every codec, in the order pages offer them.
    pub const ALL: [Self; 4] = [Self::Mp3, Self::Ogg, Self::Aac, Self::Flac];

    /// Reads `mp3`, `ogg`, `aac` or `flac` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The query-string spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mp3 => "mp3",
            Self::Ogg => "ogg",
            Self::Aac => "aac",
            Self::Flac => "flac",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::Mp3 => "MP3",
            Self::Ogg => "Ogg (Vorbis, Opus)",
            Self::Aac => "AAC",
            Self::Flac => "FLAC",
        }
    }

    /// The content types that mean this codec.
    pub fn content_types(self) -> Vec<&'static str> {
        match self {
            Self::Mp3 => vec!["audio/mpeg", "audio/mp3"],
            Self::Ogg => vec!["audio/ogg", "application/ogg", "audio/opus"],
            Self::Aac => vec!["audio/aac", "audio/aacp", "audio/x-aac"],
            Self::Flac => vec!["audio/flac", "audio/x-flac"],
        }
    }
}
