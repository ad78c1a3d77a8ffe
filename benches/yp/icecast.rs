//! What Icecast 2.4.4 puts on the wire for a YP add and touch, byte for byte as in
//! `../shared/yp/fixtures/*add*` and `*touch*` (PROTOCOL.md §1, §3): libcurl's five headers in
//! their order, `Host` with the port, Icecast's own escaping (every byte but letters and digits
//! as lowercase `%xx`), the add's nameless audio-info field and the CRLF that ends both bodies.

use std::io::Write;

/// One mount of one Icecast, as the source client describes it.
pub struct Mount {
    pub name: String,
    pub genre: &'static str,
    pub description: String,
    pub homepage: String,
    pub listen_url: String,
    pub ogg: bool,
}

/// Titles as the captures carry them: Vorbis comments in UTF-8 for Ogg, and for MP3 the
/// Latin-1 round trip that turns an en dash into `&#8211;`.
const OGG_TITLES: [&str; 3] = [
    "Test Artist - Tone A 440Hz",
    "Tëst Ärtist - Tone B – 660 Hz & ünïcödé",
    "Title Only 880Hz",
];
const MP3_TITLES: [&str; 3] = [
    "MP3 Artist - Café &#8211; Ünïcødé & \"quotes\" + plus 100%",
    "Second Artist - Späte Stunde (Live)",
    "Ünïcødé Bänd - Tïtle &#8211; Pärt 2",
];

impl Mount {
    /// The `i`th mount: Ogg and MP3 in turn, each on a host of its own.
    pub fn new(i: usize) -> Self {
        let ogg = i.is_multiple_of(2);
        let ext = if ogg { "ogg" } else { "mp3" };
        Self {
            name: format!("Bench Radio {i} – live-{ext}"),
            genre: if ogg { "Test Tones" } else { "Rock Pop" },
            description: format!("Sine tones from ezstream (live-{ext}) on mount {i}"),
            homepage: format!("https://radio{i}.example.org/live-{ext}"),
            listen_url: format!("http://radio{i}.example.org:8000/live{i}.{ext}"),
            ogg,
        }
    }

    /// What plays at the `touch`th touch: a song lasts seven touches (3.5 min at 30 s).
    pub fn title(&self, touch: usize, i: usize) -> &'static str {
        let titles = if self.ogg { &OGG_TITLES } else { &MP3_TITLES };
        titles[(touch / 7 + i) % titles.len()]
    }

    /// `stype`: the codec list for Ogg, empty for MP3.
    fn subtype(&self) -> &'static str {
        if self.ogg { "Vorbis" } else { "" }
    }

    /// The add's body, fields in Icecast 2.4.4's order.
    pub fn add_body(&self) -> Vec<u8> {
        let mut b = b"action=add&sn=".to_vec();
        escape(&mut b, &self.name);
        b.extend_from_slice(b"&genre=");
        escape(&mut b, self.genre);
        b.extend_from_slice(b"&cpswd=&desc=");
        escape(&mut b, &self.description);
        b.extend_from_slice(b"&url=");
        escape(&mut b, &self.homepage);
        b.extend_from_slice(b"&listenurl=");
        escape(&mut b, &self.listen_url);
        b.extend_from_slice(b"&type=");
        escape(
            &mut b,
            if self.ogg {
                "application/ogg"
            } else {
                "audio/mpeg"
            },
        );
        b.extend_from_slice(b"&stype=");
        escape(&mut b, self.subtype());
        b.extend_from_slice(b"&b=128&");
        escape(&mut b, "bitrate=128;samplerate=44100;channels=2");
        b.extend_from_slice(b"\r\n");
        b
    }

    /// A touch's body into `b` (cleared first).
    pub fn touch_body(&self, b: &mut Vec<u8>, sid: &str, title: &str, listeners: usize) {
        b.clear();
        b.extend_from_slice(b"action=touch&sid=");
        b.extend_from_slice(sid.as_bytes());
        b.extend_from_slice(b"&st=");
        escape(b, title);
        let _ = write!(b, "&listeners={listeners}&max_listeners=100&stype=");
        escape(b, self.subtype());
        b.extend_from_slice(b"\r\n");
    }
}

/// The request libcurl sends for `body` to `path` on `host` (`127.0.0.1:port`), into `out`; one
/// buffer, so one write, as curl sends a small POST.
pub fn request(out: &mut Vec<u8>, host: &str, path: &str, body: &[u8]) {
    out.clear();
    let _ = write!(
        out,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Icecast 2.4.4\r\nAccept: */*\r\n\
         Content-Length: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n",
        body.len()
    );
    out.extend_from_slice(body);
}

/// Icecast's `util_url_escape`.
fn escape(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

/// Checks the generator against the captures: the add and the touch of `/live.ogg` and the touch
/// of `/live.mp3` must come out byte for byte as Icecast sent them.
pub fn check_against_captures(fixtures: &std::path::Path) {
    let capture = |name: &str| std::fs::read(fixtures.join(name)).unwrap();
    let live_ogg = Mount {
        name: "ezstream live-ogg".to_owned(),
        genre: "Test Tones",
        description: "Sine tones from ezstream (live-ogg)".to_owned(),
        homepage: "https://example.org/live-ogg".to_owned(),
        listen_url: "http://127.0.0.1:18000/live.ogg".to_owned(),
        ogg: true,
    };
    let live_mp3 = Mount {
        ogg: false,
        ..Mount::new(0)
    };
    let (host, path) = ("127.0.0.1:18080", "/api/icecast/yp/test-token");
    let (mut req, mut body) = (Vec::new(), Vec::new());
    let same = |req: &[u8], name: &str| {
        assert!(
            req == capture(name),
            "the generator differs from {name}:\n{}",
            String::from_utf8_lossy(req)
        );
    };
    request(&mut req, host, path, &live_ogg.add_body());
    same(&req, "010-test-token-add-live.ogg.request.http");
    let sid = "live.ogg-36b27592-877c-49e7-b586-647303499dc6";
    live_ogg.touch_body(&mut body, sid, "Title Only 880Hz", 1);
    request(&mut req, host, path, &body);
    same(&req, "016-test-token-touch-live.ogg.request.http");
    let sid = "live.mp3-7ed88ed3-c88d-46e0-8bea-bdfd6cca60db";
    live_mp3.touch_body(&mut body, sid, MP3_TITLES[0], 0);
    request(&mut req, host, path, &body);
    same(&req, "013-test-token-touch-live.mp3.request.http");
}
