//! Text from outside before it is stored or shown: remote HTML through an allow-list, plain text
//! without control characters, everything clamped, URLs only http(s) (remote servers are not
//! trusted to do this), and the clip Icecast's fields get.

use std::collections::HashSet;

use url::Url;

/// Longest display name kept, in characters.
pub const NAME: usize = 200;
/// Longest summary kept (HTML, after cleaning).
pub const SUMMARY: usize = 4000;
/// Longest title kept.
pub const TITLE: usize = 500;
/// Longest genre and most genres kept.
pub const GENRE: usize = 50;
pub const GENRES: usize = 10;
/// Longest URL kept.
pub const URL: usize = 2000;

/// HTML through an allow-list (paragraphs, line breaks, links, emphasis, lists), links made
/// `nofollow noopener noreferrer`, then clamped. Clamping happens before cleaning so that a cut
/// never leaves a broken tag.
pub fn html(input: &str) -> String {
    let cut = clamp(input, SUMMARY);
    let tags: HashSet<&str> = [
        "p",
        "br",
        "a",
        "span",
        "em",
        "strong",
        "b",
        "i",
        "ul",
        "ol",
        "li",
        "blockquote",
        "code",
    ]
    .into_iter()
    .collect();
    ammonia::Builder::default()
        .tags(tags)
        .link_rel(Some("nofollow noopener noreferrer"))
        .url_schemes(["http", "https"].into_iter().collect())
        .clean(&cut)
        .to_string()
}

/// Plain text: control characters removed, whitespace runs collapsed, clamped to `max`
/// characters. It is escaped wherever it is shown.
pub fn text(input: &str, max: usize) -> String {
    let cleaned: String = input
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    clamp(&collapsed, max)
}

/// An http(s) URL with a host, at most [`URL`] long; anything else is dropped.
pub fn http_url(input: &str) -> Option<String> {
    if input.len() > URL {
        return None;
    }
    let url = Url::parse(input.trim()).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some()).then(|| url.into())
}

/// A language tag as BCP 47 spells one (`en`, `pt-BR`, `zh-Hant`): a primary language of two or
/// three letters, then subtags of one to eight letters or digits; the primary in lower case.
/// Anything else is `None`.
pub fn language(input: &str) -> Option<String> {
    let input = input.trim();
    let mut parts = input.split('-');
    let primary = parts.next()?;
    let subtags_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    let ok = (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && subtags_ok
        && input.len() <= 35;
    ok.then(|| match input.split_once('-') {
        Some((p, rest)) => format!("{}-{rest}", p.to_ascii_lowercase()),
        None => input.to_ascii_lowercase(),
    })
}

/// Genres as plain text, empty ones and duplicates dropped, comma-joined (commas inside a genre
/// would split it, so they become spaces).
pub fn genres<'a>(input: impl IntoIterator<Item = &'a str>) -> String {
    let mut out: Vec<String> = Vec::new();
    for g in input {
        let g = text(&g.replace(',', " "), GENRE);
        if !g.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&g)) && out.len() < GENRES {
            out.push(g);
        }
    }
    out.join(",")
}

/// The text of cleaned HTML, for places that show plain text.
pub fn to_text(html: &str) -> String {
    // Paragraphs and line breaks become spaces rather than running words together.
    let spaced = html.replace("</p>", "</p> ").replace("<br>", " ");
    let stripped = ammonia::Builder::empty().clean(&spaced).to_string();
    text(&html_escape::decode_html_entities(&stripped), SUMMARY)
}

/// At most `max` characters, with an ellipsis when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn clamp(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_are_bcp47_shaped() {
        assert_eq!(language(" EN ").as_deref(), Some("en"));
        assert_eq!(language("pt-BR").as_deref(), Some("pt-BR"));
        assert_eq!(language("zh-Hant-TW").as_deref(), Some("zh-Hant-TW"));
        for bad in [
            "",
            "e",
            "english",
            "en_US",
            "en-",
            "en-toolongsubtag",
            "1a",
            "en-ü",
        ] {
            assert_eq!(language(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn html_keeps_the_allowed_and_drops_the_rest() {
        let dirty = r#"<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:alert(1)">a</a> <a href="https://ok.example/">b</a><img src=x onerror=alert(1)><iframe src="https://evil.example"></iframe></p>"#;
        let clean = html(dirty);
        assert!(
            !clean.contains("script") && !clean.contains("onclick"),
            "{clean}"
        );
        assert!(
            !clean.contains("javascript") && !clean.contains("img") && !clean.contains("iframe"),
            "{clean}"
        );
        assert!(
            clean.contains(
                r#"<a href="https://ok.example/" rel="nofollow noopener noreferrer">b</a>"#
            ),
            "{clean}"
        );
        assert!(html(&"<p>x</p>".repeat(2000)).chars().count() <= SUMMARY + 20);
        assert_eq!(
            to_text("<p>Rock &amp; <b>roll</b></p><p>again</p>"),
            "Rock & roll again"
        );
    }

    #[test]
    fn text_urls_and_genres() {
        assert_eq!(text("  a\u{0}b\n\tc  ", 10), "a b c");
        assert_eq!(text("abcdef", 3), "abc…");
        assert_eq!(text("ééé", 2), "éé…");
        assert_eq!(
            http_url("https://radio.example:8000/live"),
            Some("https://radio.example:8000/live".into())
        );
        assert_eq!(http_url("javascript:alert(1)"), None);
        assert_eq!(http_url("ftp://radio.example/a"), None);
        assert_eq!(
            http_url(&format!("https://a.example/{}", "x".repeat(URL))),
            None
        );
        assert_eq!(
            genres(["Jazz", "jazz", "", "Soul, Funk"]),
            "Jazz,Soul  Funk".replace("  ", " ")
        );
    }
}
