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

    /// Reads `mp3`, `ogg`, `aac` or `flac` (any case), and the names the API prints as a
    /// stream's `codec` (what Icecast reports: `Vorbis`, `Opus`, `MPEG`, `AAC+`…).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .or(match s.as_str() {
                "vorbis" | "opus" | "speex" | "theora" => Some(Self::Ogg),
                "mpeg" | "mp2" | "mpeg audio" => Some(Self::Mp3),
                "aac+" | "aacp" | "he-aac" | "heaac" => Some(Self::Aac),
                _ => None,
            })
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

#[cfg(test)]
mod tests {
    use super::Codec;

    #[test]
    fn codec_names_as_the_api_prints_them_are_read() {
        for (name, codec) in [
            ("mp3", Codec::Mp3),
            ("MP3", Codec::Mp3),
            ("Vorbis", Codec::Ogg),
            ("Opus", Codec::Ogg),
            ("AAC+", Codec::Aac),
            ("flac", Codec::Flac),
        ] {
            assert_eq!(Codec::parse(name), Some(codec), "{name}");
        }
        assert_eq!(Codec::parse("wav"), None);
    }
}
