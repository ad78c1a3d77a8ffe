//! Boots the real application on port 0 against a fresh database: a temporary SQLite file, or a
//! new PostgreSQL database when `ONAIR_TEST_DATABASE_URL` is set.

use std::{net::SocketAddr, path::PathBuf};

use chrono::TimeDelta;
use diesel::{Connection, PgConnection, RunQueryDsl};
use onair::{
    accounts::{self, UserName},
    clock::Clock,
    config::Config,
    delivery::worker::{Limits, Step, Worker},
    server::{Application, Options},
    state::AppState,
    streams::Reaped,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A running onair with a manual clock and no background reaper (tests step both).
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub database_url: String,
    pub client: reqwest::Client,
    _db: TestDb,
}

/// A database of its own for one test: a SQLite file in a temporary directory, or a new
/// PostgreSQL database (dropped at the end) when `ONAIR_TEST_DATABASE_URL` is set.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var("ONAIR_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!(
                    "onair_test_{}",
                    accounts::random_alphanumeric(12).to_lowercase()
                );
                let mut admin = PgConnection::establish(&admin_url)
                    .expect("ONAIR_TEST_DATABASE_URL must be reachable");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .unwrap();
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    dir,
                    pg: Some((admin_url, name)),
                }
            }
            _ => Self {
                url: dir.path().join("onair.db").display().to_string(),
                dir,
                pg: None,
            },
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.pg {
            // FORCE: the app's pool may still hold connections.
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

/// Icecast's view of one YP answer.
#[derive(Debug)]
pub struct YpAnswer {
    pub ok: bool,
    pub message: String,
    pub sid: Option<String>,
    pub touch_freq: Option<u32>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new();
    let mut config = Config::load_from(None, Vec::new()).unwrap();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.database_url.clone_from(&db.url);
    config.allow_private_networks = true;
    config.workers = 2;
    customise(&mut config);
    let app = Application::build(
        config,
        Options {
            clock: Clock::manual(),
            background: false,
        },
    )
    .await
    .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], app.port()));
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        addr,
        state,
        database_url: db.url.clone(),
        client: reqwest::Client::new(),
        _db: db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.addr.port())
    }

    /// Creates a broadcaster and one YP token; returns the token.
    pub async fn broadcaster(&self, name: &str) -> String {
        let (name, now) = (UserName::parse(name).unwrap(), self.state.clock.now());
        self.state
            .db
            .write(move |c| {
                let user = accounts::create_user(c, &name, "a long password", false, now)?;
                accounts::create_token(c, user.id, "test", now).map(|(_, secret)| secret)
            })
            .await
            .unwrap()
    }

    /// Posts a YP body the way Icecast does and reads the answer from the headers.
    pub async fn yp(&self, token: &str, body: &str) -> YpAnswer {
        let res = self
            .client
            .post(self.url(&format!("/api/icecast/yp/{token}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("user-agent", "Icecast 2.4.4")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "the YP endpoint always answers 200");
        let h = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        YpAnswer {
            ok: match h("YPResponse").as_deref() {
                Some("1") => true,
                Some("0") => false,
                other => panic!("YPResponse header missing or malformed: {other:?}"),
            },
            message: h("YPMessage").expect("every YP answer carries YPMessage"),
            sid: h("SID"),
            touch_freq: h("TouchFreq").map(|f| f.parse().unwrap()),
        }
    }

    /// A successful add for a listen URL on radio.example; returns the SID.
    pub async fn add(&self, token: &str, name: &str, mount: &str) -> String {
        let body = add_body(
            name,
            &format!("http://radio.example:8000/{mount}"),
            "Jazz Soul",
        );
        let answer = self.yp(token, &body).await;
        assert!(answer.ok, "add refused: {}", answer.message);
        answer.sid.expect("a successful add carries a SID")
    }

    /// The body of a GET as text.
    pub async fn get_text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.client.get(self.url(path)).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }

    /// A GET as a fediverse server makes it (ActivityPub JSON): status and body.
    pub async fn get_ap(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self
            .client
            .get(self.url(path))
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    /// The API item of one stream.
    pub async fn stream(&self, handle: &str) -> serde_json::Value {
        let (status, body) = self.get_json(&format!("/api/v1/streams/{handle}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A delivery worker of this app (private networks allowed, as the app is), as `serve` runs
    /// it; `deliver_due` on it is one step of the queue.
    pub fn worker(&self) -> Worker {
        self.worker_with(|_| {})
    }

    /// A worker with its limits changed by `change`.
    pub fn worker_with(&self, change: impl FnOnce(&mut Limits)) -> Worker {
        let mut limits = Limits::default();
        change(&mut limits);
        Worker::from_state(&self.state, limits)
    }

    /// One step of the delivery queue: what is due now is sent and its outcomes recorded.
    pub async fn deliver_due(&self) -> Step {
        self.worker().deliver_due().await.unwrap()
    }

    /// Turns title edits on for a stream (off by default): its title changes then send Updates.
    pub async fn edit_titles(&self, handle: &str) {
        let (config, urls, now) = (
            (*self.state.config).clone(),
            self.state.urls.clone(),
            self.state.clock.now(),
        );
        let handle = handle.to_owned();
        self.state
            .db
            .write(move |c| {
                let mut stream = onair::db::models::Stream::find_with_broadcast(c, &handle)?
                    .unwrap()
                    .0;
                let posts = onair::streams::settings::Posts {
                    title_edits: true,
                    ..Default::default()
                };
                let changes = onair::streams::settings::Changes {
                    posts: Some(posts),
                    ..Default::default()
                };
                changes.apply(c, &mut stream, &config, &urls, now)
            })
            .await
            .unwrap();
    }

    /// Moves the app's (manual) clock on by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.state.clock.advance(TimeDelta::seconds(seconds));
    }

    /// Moves the clock and runs one reaper pass.
    pub async fn advance_and_reap(&self, seconds: i64) -> Reaped {
        self.advance(seconds);
        onair::streams::Directory::new(&self.state)
            .reap()
            .await
            .unwrap()
    }
}

/// An Icecast 2.4 add body, escaped the way Icecast escapes (every byte but [0-9A-Za-z]).
pub fn add_body(name: &str, listen_url: &str, genre: &str) -> String {
    format!(
        "action=add&sn={}&genre={}&cpswd=cluster%20secret&desc=A%20test%20stream&url=https%3a%2f%2fradio%2eexample&listenurl={}&type=audio%2fmpeg&stype=&b=128&bitrate%3d128%3bsamplerate%3d44100%3bchannels%3d2\r\n",
        icecast_escape(name),
        icecast_escape(genre),
        icecast_escape(listen_url)
    )
}

pub fn touch_body(sid: &str, title: &str, listeners: u32) -> String {
    format!(
        "action=touch&sid={sid}&st={}&listeners={listeners}&max_listeners=100&stype=\r\n",
        icecast_escape(title)
    )
}

pub fn icecast_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

/// One keep-alive TCP connection that sends raw bytes, as Icecast's libcurl does.
pub struct RawConn(TcpStream);

/// A raw HTTP response: the head as text (status line and header lines) and the body.
pub struct RawResponse {
    pub head: String,
}

impl RawResponse {
    /// Header lines as they are on the wire.
    pub fn header_lines(&self) -> Vec<&str> {
        self.head
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// The value of a header, found case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_lines().into_iter().find_map(|l| {
            l.split_once(": ")
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }
}

impl RawConn {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self(TcpStream::connect(addr).await.unwrap())
    }

    pub async fn send(&mut self, request: &[u8]) -> RawResponse {
        self.0.write_all(request).await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = self.0.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the response head");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        let response = RawResponse { head };
        let length: usize = response
            .header("content-length")
            .map_or(0, |v| v.parse().unwrap());
        while buf.len() < head_end + 4 + length {
            let n = self.0.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed inside the body");
            buf.extend_from_slice(&chunk[..n]);
        }
        response
    }
}

/// The YP captures of ../shared/yp/fixtures (Icecast 2.4.4 on the wire), copied verbatim.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yp")
}

/// True under CI, where every optional tool must be present.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Held by the tests that drive whole processes for a minute (real Icecast, SIGKILL fan-outs), so
/// they never starve each other of the two cores: their timings are Icecast's, not ours.
pub async fn heavy() -> tokio::sync::MutexGuard<'static, ()> {
    static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    HEAVY.lock().await
}

/// A free local port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An app whose public URL carries its real port: actor ids must be the URLs peers fetch.
pub async fn public_app() -> (TestApp, u16) {
    public_app_with(|_| {}).await
}

/// [`public_app`] with more settings.
pub async fn public_app_with(customise: impl FnOnce(&mut Config)) -> (TestApp, u16) {
    let port = free_port();
    let app = spawn_app_with(|c| {
        c.bind = format!("127.0.0.1:{port}").parse().unwrap();
        c.url = format!("http://localhost:{port}").parse().unwrap();
        customise(c);
    })
    .await;
    (app, port)
}

/// A child process, killed when dropped.
pub struct Guard(pub std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` every 200 ms until it gives a value; fails after 30 s.
pub async fn poll<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
