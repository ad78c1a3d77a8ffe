//! Formats players already read: `/yp.xml`, the classic Icecast directory listing (VLC's
//! "Icecast Radio Directory" reads it), and one stream's `.m3u` and `.xspf` playlists.

use actix_web::{HttpResponse, web};

use crate::{
    db::models::{Stream, StreamFilter},
    error::{Error, Result},
    state::AppState,
};

/// Most entries `/yp.xml` lists.
const YP_MAX: i64 = 1000;

/// Text for XML content and attributes.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// `GET /yp.xml`: this instance's live streams. Every element is always present (VLC's reader
/// expects each one).
pub async fn yp_xml(state: web::Data<AppState>) -> Result<HttpResponse> {
    let filter = StreamFilter {
        live_only: true,
        limit: YP_MAX,
        ..StreamFilter::default()
    };
    let rows = state
        .db
        .read(move |c| Stream::list_with_broadcast(c, &filter))
        .await?;
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<directory>\n");
    for (s, b) in rows {
        let title = b.map(|b| b.title).unwrap_or_default();
        let number = |n: Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
        body.push_str(&format!(
            "<entry>\n<server_name>{}</server_name>\n<listen_url>{}</listen_url>\n\
             <server_type>{}</server_type>\n<bitrate>{}</bitrate>\n<samplerate>{}</samplerate>\n\
             <channels>{}</channels>\n<genre>{}</genre>\n<current_song>{}</current_song>\n</entry>\n",
            xml(s.shown_name()),
            xml(&s.listen_url),
            xml(&s.content_type),
            number(s.bitrate),
            number(s.samplerate),
            number(s.channels),
            xml(&s.genre_list().join(" ")),
            xml(&title),
        ));
    }
    body.push_str("</directory>\n");
    Ok(HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .body(body))
}

/// `GET /streams/{handle}.m3u` and `.xspf`
pub async fn playlist(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (handle, ext) = path.into_inner();
    let (stream, _) = crate::streams::find(&state.db, &handle).await?;
    let page = state.urls.stream(&stream.handle);
    match ext.as_str() {
        "m3u" => Ok(HttpResponse::Ok()
            .content_type("audio/x-mpegurl; charset=utf-8")
            .body(format!(
                "#EXTM3U\n#EXTINF:-1,{}\n{}\n",
                stream.shown_name().replace(['\r', '\n'], " "),
                stream.listen_url
            ))),
        "xspf" => Ok(HttpResponse::Ok()
            .content_type("application/xspf+xml; charset=utf-8")
            .body(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <playlist version=\"1\" xmlns=\"http://xspf.org/ns/0/\">\n<trackList>\n<track>\n\
                 <location>{}</location>\n<title>{}</title>\n<info>{}</info>\n\
                 </track>\n</trackList>\n</playlist>\n",
                xml(&stream.listen_url),
                xml(stream.shown_name()),
                xml(page.as_str()),
            ))),
        other => Err(Error::NotFound(format!("a .{other} playlist"))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_text_is_escaped_and_unrepresentable_characters_dropped() {
        assert_eq!(super::xml("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }
}
