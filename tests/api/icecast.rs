//! End-to-end with Debian's icecast2 2.4.4 and ezstream: real sources, a real Icecast, our YP
//! endpoint over real HTTP. Icecast's own timers rule here (first add 60 s after a source
//! connects, first touch 5 s later, touches every 30 s), so the test waits on the API for what
//! Icecast does, with deadlines, and takes one to two minutes.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command},
    time::{Duration, Instant},
};

use onair::{
    clock::Clock,
    config::Config,
    server::{Application, Options},
};

use crate::helpers::{TestDb, in_ci};

/// Kills a child process when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tools_present() -> bool {
    let found = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let present = found("icecast2") && found("ezstream");
    if !present {
        assert!(
            !in_ci(),
            "icecast2 and ezstream are required under CI=true (apt-get install -y icecast2 ezstream)"
        );
        eprintln!(
            "skipped: icecast2 or ezstream not installed (apt-get install -y icecast2 ezstream)"
        );
    }
    present
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn icecast_xml(dir: &Path, port: u16, yp_url: &str) -> String {
    icecast_xml_for(dir, port, yp_url, "localhost")
}

/// The configuration with `<hostname>` set (from which Icecast builds the listen URL it reports).
fn icecast_xml_for(dir: &Path, port: u16, yp_url: &str, hostname: &str) -> String {
    let log = dir.join("log");
    // Icecast refuses to run as root; as root it drops to the package's user.
    let owner = if is_root() {
        "<changeowner><user>icecast2</user><group>icecast</group></changeowner>"
    } else {
        ""
    };
    format!(
        r#"<icecast>
  <location>onair test</location><admin>test@example.org</admin>
  <hostname>{hostname}</hostname>
  <limits><clients>10</clients><sources>4</sources><source-timeout>10</source-timeout><burst-size>65535</burst-size></limits>
  <authentication><source-password>hackme</source-password><admin-user>admin</admin-user><admin-password>hackme</admin-password></authentication>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>{log}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>{owner}</security>
  <directory><yp-url-timeout>10</yp-url-timeout><yp-url>{yp_url}</yp-url></directory>
</icecast>
"#,
        log = log.display()
    )
}

fn ezstream_xml(port: u16, mount: &str, name: &str, genre: &str, playlist: &Path) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ezstream>
  <servers><server><protocol>HTTP</protocol><hostname>127.0.0.1</hostname><port>{port}</port>
    <user>source</user><password>hackme</password><tls>None</tls></server></servers>
  <streams><stream>
    <mountpoint>/{mount}</mountpoint><public>Yes</public><format>Ogg</format>
    <stream_name>{name}</stream_name><stream_genre>{genre}</stream_genre>
    <stream_description>ezstream in the onair test</stream_description>
  </stream></streams>
  <intakes><intake><type>playlist</type><filename>{playlist}</filename><stream_once>No</stream_once></intake></intakes>
</ezstream>
"#,
        playlist = playlist.display()
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn start_ezstream(
    dir: &Path,
    port: u16,
    mount: &str,
    name: &str,
    genre: &str,
    media: &str,
) -> Guard {
    use std::os::unix::fs::PermissionsExt;
    let playlist = dir.join(format!("{mount}.m3u"));
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/media")
        .join(media);
    std::fs::write(&playlist, format!("{}\n", file.display())).unwrap();
    let conf = dir.join(format!("{mount}.xml"));
    std::fs::write(&conf, ezstream_xml(port, mount, name, genre, &playlist)).unwrap();
    // ezstream refuses a configuration that others can read (it holds the source password).
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let log = std::fs::File::create(dir.join(format!("{mount}.log"))).unwrap();
    Guard(
        Command::new("ezstream")
            .arg("-c")
            .arg(&conf)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// Polls one stream through the API until `done` holds or the deadline passes.
async fn wait_for(
    client: &reqwest::Client,
    url: &str,
    what: &str,
    limit: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let res = client.get(url).send().await.unwrap();
        let status = res.status();
        let body: serde_json::Value = if status == 200 {
            res.json().await.unwrap()
        } else {
            serde_json::json!({ "http_status": status.as_u16(), "body": res.text().await.unwrap_or_default() })
        };
        if done(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; last seen {body}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn real_icecast_lists_titles_removes_and_is_reaped_after_a_crash() {
    if !tools_present() {
        return;
    }
    let _heavy = crate::helpers::heavy().await;
    let db = TestDb::new();
    let dir = &db.dir;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(dir.path().join("log")).unwrap();
        std::fs::set_permissions(
            dir.path().join("log"),
            std::fs::Permissions::from_mode(0o777),
        )
        .unwrap();
    }
    // Real clock and the background reaper, as in production; short limits so the test ends.
    let mut config = Config::load_from(None, Vec::new()).unwrap();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.database_url.clone_from(&db.url);
    config.allow_private_networks = true;
    config.yp.touch_freq = 10; // Icecast raises it to 30 by itself
    config.yp.missed_touches = 5; // so a listing ends 50 s after its last touch (touches: 30 s)
    config.yp.end_grace = 2;
    let app = Application::build(
        config,
        Options {
            clock: Clock::System,
            background: true,
        },
    )
    .await
    .unwrap();
    let port = app.port();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    let now = state.clock.now();
    let name = onair::accounts::UserName::parse(&format!(
        "e2e{}",
        onair::accounts::random_alphanumeric(6).to_lowercase()
    ))
    .unwrap();
    let token = state
        .db
        .write(move |c| {
            let user = onair::accounts::create_user(c, &name, "a long password", false, now)?;
            onair::accounts::create_token(c, user.id, "e2e", now).map(|(_, t)| t)
        })
        .await
        .unwrap();

    let ice_port = free_port();
    let conf = dir.path().join("icecast.xml");
    std::fs::write(
        &conf,
        icecast_xml(
            dir.path(),
            ice_port,
            &format!("http://localhost:{port}/api/icecast/yp/{token}"),
        ),
    )
    .unwrap();
    let ice_log = std::fs::File::create(dir.path().join("icecast.out")).unwrap();
    let mut icecast = Guard(
        Command::new("icecast2")
            .arg("-c")
            .arg(&conf)
            .stdout(ice_log.try_clone().unwrap())
            .stderr(ice_log)
            .spawn()
            .unwrap(),
    );
    let up = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", ice_port)).is_err() {
        assert!(
            up.elapsed() < Duration::from_secs(10),
            "icecast did not start: {}",
            std::fs::read_to_string(dir.path().join("icecast.out")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut clean = start_ezstream(
        dir.path(),
        ice_port,
        "clean.ogg",
        "Clean Stop FM",
        "Ambient Drone",
        "a.ogg",
    );
    let _crash = start_ezstream(
        dir.path(),
        ice_port,
        "crash.ogg",
        "Crash Test Radio",
        "Noise",
        "b.ogg",
    );

    let client = reqwest::Client::new();
    let api = |handle: &str| format!("http://localhost:{port}/api/v1/streams/{handle}");
    // Icecast adds 60 s after the source connects.
    let listed = wait_for(
        &client,
        &api("clean_stop_fm"),
        "add of clean.ogg",
        Duration::from_secs(90),
        |s| s["status"] == "live",
    )
    .await;
    assert_eq!(listed["name"], "Clean Stop FM");
    assert_eq!(listed["genres"], serde_json::json!(["Ambient", "Drone"]));
    assert_eq!(
        (listed["content_type"].as_str(), listed["codec"].as_str()),
        (Some("application/ogg"), Some("Vorbis"))
    );
    assert_eq!(
        listed["listen_url"],
        format!("http://localhost:{ice_port}/clean.ogg")
    );
    wait_for(
        &client,
        &api("crash_test_radio"),
        "add of crash.ogg",
        Duration::from_secs(10),
        |s| s["status"] == "live",
    )
    .await;

    // The first touch comes 5 s after the add, with the Vorbis comments of what plays.
    wait_for(
        &client,
        &api("clean_stop_fm"),
        "title of clean.ogg",
        Duration::from_secs(20),
        |s| s["title"] == "Test Artist - Tone A 440 Hz",
    )
    .await;
    let crash = wait_for(
        &client,
        &api("crash_test_radio"),
        "title of crash.ogg",
        Duration::from_secs(20),
        |s| s["title"] == "Tone B – 660 Hz",
    )
    .await;
    assert_eq!(crash["status"], "live");

    // A source that stops: Icecast removes at once; the grace (2 s here) then ends the broadcast.
    let _ = clean.0.kill();
    wait_for(
        &client,
        &api("clean_stop_fm"),
        "remove of clean.ogg",
        Duration::from_secs(10),
        |s| s["status"] != "live",
    )
    .await;
    wait_for(
        &client,
        &api("clean_stop_fm"),
        "end of clean.ogg",
        Duration::from_secs(10),
        |s| s["status"] == "offline",
    )
    .await;
    assert_eq!(
        client
            .get(api("crash_test_radio"))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()["status"],
        "live"
    );

    // SIGKILL: no remove is sent; the reaper ends the listing after 5 missed touches.
    let _ = icecast.0.kill();
    let killed = Instant::now();
    wait_for(
        &client,
        &api("crash_test_radio"),
        "reaping of crash.ogg",
        Duration::from_secs(150),
        |s| s["status"] == "offline",
    )
    .await;
    assert!(
        killed.elapsed() > Duration::from_secs(5),
        "ended by the reaper, not by a remove"
    );
}

/// A temporary folder Icecast (dropping to its own user when run as root) can write its log in.
fn icecast_dir(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(dir.join("log")).unwrap();
    std::fs::set_permissions(dir.join("log"), std::fs::Permissions::from_mode(0o777)).unwrap();
}

/// Starts Icecast on `conf` and waits for its port.
async fn start_icecast(dir: &Path, conf: &Path, port: u16) -> Guard {
    let log = std::fs::File::create(dir.join("icecast.out")).unwrap();
    let icecast = Guard(
        Command::new("icecast2")
            .arg("-c")
            .arg(conf)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let up = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            up.elapsed() < Duration::from_secs(10),
            "icecast did not start: {}",
            std::fs::read_to_string(dir.join("icecast.out")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    icecast
}

/// A broadcaster's first try as the README has it, on an instance that (as in production) refuses
/// private listen URLs: Icecast's `<hostname>` is still `localhost`, so its first add is refused.
/// The dashboard and `onair token list` show the refusal and what to fix; after the fix (a public
/// `<hostname>`) and a source reconnect, the stream is listed and the dashboard shows it live.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_first_add_is_shown_and_after_the_fix_the_stream_goes_live() {
    if !tools_present() {
        return;
    }
    let _heavy = crate::helpers::heavy().await;
    let app = crate::helpers::spawn_app_with(|c| c.allow_private_networks = false).await;
    let dir = tempfile::tempdir().unwrap();
    icecast_dir(dir.path());
    crate::dashboard::account(&app, "newcomer").await;
    let token = app
        .state
        .db
        .write(|c| {
            let user = onair::db::models::User::find_by_name(c, "newcomer")?.unwrap();
            onair::accounts::create_token(c, user.id, "studio", user.created_at).map(|(_, t)| t)
        })
        .await
        .unwrap();
    let yp_url = app.url(&format!("/api/icecast/yp/{token}"));
    let (ice_port, conf) = (free_port(), dir.path().join("icecast.xml"));
    std::fs::write(&conf, icecast_xml(dir.path(), ice_port, &yp_url)).unwrap();
    let icecast = start_icecast(dir.path(), &conf, ice_port).await;
    let source = start_ezstream(
        dir.path(),
        ice_port,
        "live.ogg",
        "First Hour FM",
        "Jazz",
        "a.ogg",
    );

    // Icecast adds about a minute after the source connects: refused.
    let deadline = Instant::now() + Duration::from_secs(100);
    let refusal = loop {
        let tokens = app
            .state
            .db
            .read(|c| {
                let user = onair::db::models::User::find_by_name(c, "newcomer")?.unwrap();
                onair::db::models::YpToken::list_for_user(c, user.id)
            })
            .await
            .unwrap();
        if let Some(message) = tokens[0].refused_message.clone() {
            break message;
        }
        assert!(Instant::now() < deadline, "Icecast never called");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(refusal.contains("<hostname>"), "{refusal}");
    let list = crate::cli::stdout(&crate::cli::onair(&app, &["token", "list", "newcomer"], ""));
    assert!(
        list.contains("add, refused: listen URL http://localhost:"),
        "{list}"
    );
    let mut visitor = crate::dashboard::Visitor::new(&app);
    visitor.sign_in("newcomer", "correct horse battery").await;
    let (_, dashboard, _) = visitor.get("/dashboard").await;
    assert!(
        dashboard.contains("add, refused: listen URL")
            && dashboard.contains("ONAIR_ALLOW_PRIVATE_NETWORKS"),
        "{dashboard}"
    );
    assert!(dashboard.contains("No stream yet"), "{dashboard}");

    // The fix: a public <hostname>; Icecast restarts and the source reconnects.
    drop(source);
    drop(icecast);
    std::fs::write(
        &conf,
        icecast_xml_for(dir.path(), ice_port, &yp_url, "radio.example"),
    )
    .unwrap();
    let _icecast = start_icecast(dir.path(), &conf, ice_port).await;
    let _source = start_ezstream(
        dir.path(),
        ice_port,
        "live.ogg",
        "First Hour FM",
        "Jazz",
        "a.ogg",
    );
    let listed = wait_for(
        &app.client,
        &app.url("/api/v1/streams/first_hour_fm"),
        "the add after the fix",
        Duration::from_secs(100),
        |s| s["status"] == "live",
    )
    .await;
    assert_eq!(
        listed["listen_url"],
        format!("http://radio.example:{ice_port}/live.ogg")
    );
    let (_, dashboard, _) = visitor.get("/dashboard").await;
    assert!(
        dashboard.contains("First Hour FM")
            && dashboard.contains(r#"<span class="badge">On air</span>"#),
        "{dashboard}"
    );
    assert!(
        dashboard.contains("add, accepted: Added as @first_hour_fm")
            && dashboard.contains("Last refusal"),
        "{dashboard}"
    );
}
