//! Production as operators run it: Debian's nginx with TLS, configured from the shipped
//! `deploy/nginx/onair.conf` (only ports, names and certificate paths changed), in front of two
//! `onair serve` processes on one PostgreSQL database. A Fedify peer, itself on https, follows
//! a stream through the proxy and gets its go-live `Create`; the process sending the `Delete`
//! is killed with the request in flight and the other one delivers it; failed sign-ins are
//! limited per real client (the address nginx forwards, not nginx's own); and a live page's
//! Server-Sent Events, read through nginx from one process, carry a title the other process
//! was told by Icecast.
//!
//! Needs PostgreSQL (`ONAIR_TEST_DATABASE_URL`), nginx, openssl, Node 22 and Fedify; without
//! them it says why and skips, except under `CI=true` on PostgreSQL, where they must be there.

use std::{
    collections::HashSet,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use onair::{
    accounts::{self, UserName},
    clock::Clock,
    db::{Db, migrations, models::Delivery},
};

use crate::helpers::{Guard, TestDb, add_body, free_port, in_ci, touch_body};

const PASSWORD: &str = "a long password";
const HANDLE: &str = "night_owl";

#[tokio::test(flavor = "multi_thread")]
async fn nginx_with_tls_in_front_of_two_processes_on_postgresql() {
    if !std::env::var("ONAIR_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        eprintln!(
            "skipped: two onair processes need one PostgreSQL database (ONAIR_TEST_DATABASE_URL)"
        );
        return;
    }
    let Some(nginx) = tool("nginx", "ONAIR_NGINX", &["/usr/sbin/nginx"]) else {
        return;
    };
    let Some(openssl) = tool("openssl", "ONAIR_OPENSSL", &["/usr/bin/openssl"]) else {
        return;
    };
    let Some((fedify_dir, node)) = crate::federation::fedify() else {
        return;
    };
    let _heavy = crate::helpers::heavy().await;
    let test_db = TestDb::new();
    // Readable by nginx's workers, which run as nobody when the test runs as root.
    set_mode(test_db.dir.path(), 0o755);
    let dir = test_db.dir.path().to_owned();
    let certs = Certs::make(&openssl, &dir);
    let ports = Ports {
        https: free_port(),
        http: free_port(),
        first: free_port(),
        second: free_port(),
        peer: free_port(),
    };
    let public = format!("https://localhost:{}", ports.https);
    let token = accounts_for(&test_db.url).await;
    let mut logs = Logs(Vec::new());

    let mut onair = [
        Onair::start(
            &test_db.url,
            ports.first,
            &public,
            &certs.ca,
            &dir,
            &mut logs,
        ),
        Onair::start(
            &test_db.url,
            ports.second,
            &public,
            &certs.ca,
            &dir,
            &mut logs,
        ),
    ];
    let _nginx = Nginx::start(&nginx, &dir, &ports, &certs, &mut logs);
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&certs.ca).unwrap()).unwrap();
    let client = https_client(&ca, [127, 0, 0, 1]);
    for o in &onair {
        until("onair answers on its own port", 60, async || {
            let url = format!("http://127.0.0.1:{}/healthz", o.port);
            let res = reqwest::get(url).await.ok()?;
            (res.status() == 200).then_some(())
        })
        .await;
    }
    until("nginx answers over TLS", 30, async || {
        let res = client.get(format!("{public}/healthz")).send().await.ok()?;
        (res.status() == 200).then_some(())
    })
    .await;

    // Plain http only redirects, the YP endpoint too (its URL carries a secret).
    let res = client
        .get(format!("http://localhost:{}/api/icecast/yp/x", ports.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 301);
    assert_eq!(
        res.headers()["location"],
        "https://localhost/api/icecast/yp/x"
    );

    // Icecast adds the stream through the proxy; it goes off air again so that a follower
    // can see it go live.
    let icecast = Icecast {
        client: &client,
        url: format!("{public}/api/icecast/yp/{token}"),
    };
    let sid = icecast
        .send(&add_body("Night Owl", LISTEN_URL, "jazz"))
        .await;
    icecast.send(&format!("action=remove&sid={sid}")).await;
    until("the first broadcast ends", 30, async || {
        let res = client
            .get(format!("{public}/api/v1/streams/{HANDLE}"))
            .send()
            .await
            .ok()?;
        let item: serde_json::Value = res.json().await.ok()?;
        (item["status"] == "offline").then_some(())
    })
    .await;
    let actor: serde_json::Value = until("the actor has its key", 30, async || {
        let res = client
            .get(format!("{public}/streams/{HANDLE}"))
            .header("accept", "application/activity+json")
            .send()
            .await
            .ok()?;
        let actor: serde_json::Value = res.json().await.ok()?;
        actor["publicKey"]["publicKeyPem"]
            .is_string()
            .then_some(actor)
    })
    .await;
    assert_eq!(actor["id"], format!("{public}/streams/{HANDLE}"));

    // A Fedify peer on https follows through nginx; our Accept reaches it over https, trusted
    // through ONAIR_TLS_CA_FILE.
    let peer = Peer::start(&fedify_dir, &node, ports.peer, &certs, &ca, &mut logs).await;
    peer.control(&format!("follow?target={public}/streams/{HANDLE}"))
        .await
        .unwrap();
    until("the peer verifies our Accept", 60, async || {
        peer.verified("Accept").await
    })
    .await;
    let sid = icecast
        .send(&add_body("Night Owl", LISTEN_URL, "jazz"))
        .await;
    let create = until("the peer verifies the go-live Create", 60, async || {
        peer.verified("Create").await
    })
    .await;
    assert!(create.to_string().contains(&public), "{create}");

    live_title_crosses_processes(&public, &ca, &onair, &token, &sid).await;
    sign_ins_are_limited_per_real_client(&public, &ca).await;

    // The stream ends; the process that sends the Delete dies with the request in flight.
    peer.control("hold?type=Delete").await.unwrap();
    icecast.send(&format!("action=remove&sid={sid}")).await;
    let held = until("a process sends the Delete", 60, async || {
        let held = peer.held().await?;
        held.into_iter().find(|h| h["state"] == "waiting")
    })
    .await;
    let sender_port = u16::try_from(held["remotePort"].as_u64().unwrap()).unwrap();
    let pids: Vec<u32> = onair.iter().map(|o| o.child.id()).collect();
    let sender = until("the Delete's sender is one of ours", 10, async || {
        owner_of_local_port(&pids, sender_port)
    })
    .await;
    let killed = onair.iter_mut().find(|o| o.child.id() == sender).unwrap();
    killed.child.kill().unwrap(); // SIGKILL
    killed.child.wait().unwrap();
    let (killed_port, survivor_port) = (
        killed.port,
        onair.iter().find(|o| o.child.id() != sender).unwrap().port,
    );
    until("the peer sees the sender hang up", 10, async || {
        let held = peer.held().await?;
        held.iter().any(|h| h["state"] == "dropped").then_some(())
    })
    .await;
    peer.control("release").await.unwrap();
    for _ in 0..4 {
        let res = client
            .get(format!("{public}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "nginx passes over the dead process");
    }
    let delete = until(
        "the other process delivers the Delete once the lease runs out",
        120,
        async || peer.verified("Delete").await,
    )
    .await;
    assert!(delete.to_string().contains(&public), "{delete}");
    let db = Db::connect(&test_db.url, 2).unwrap();
    until("nothing left in the queue", 30, async || {
        let counts = db.read(Delivery::count_by_state).await.ok()?;
        (!counts.iter().any(|(state, _)| state == "pending")).then_some(())
    })
    .await;
    eprintln!(
        "production: the Delete's sender (port {killed_port}) was killed mid-request; \
         port {survivor_port} delivered it"
    );
}

const LISTEN_URL: &str = "http://radio.example:8000/owl.mp3";

/// The page's live title, read through nginx from one process, changed by a touch that goes
/// straight to the other process.
async fn live_title_crosses_processes(
    public: &str,
    ca: &reqwest::Certificate,
    onair: &[Onair; 2],
    token: &str,
    sid: &str,
) {
    let client = https_client(ca, [127, 0, 0, 1]);
    let mut events = client
        .get(format!("{public}/streams/{HANDLE}/events"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let served_by = events.headers()["x-test-upstream"]
        .to_str()
        .unwrap()
        .to_owned();
    let other = onair
        .iter()
        .find(|o| !served_by.ends_with(&format!(":{}", o.port)))
        .unwrap_or_else(|| panic!("{served_by} is neither process"));
    let mut seen = String::new();
    read_events(&mut events, &mut seen, "event: now").await;
    let title = "Quiet Hours - Through The Other Door";
    let res = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/api/icecast/yp/{token}",
            other.port
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(touch_body(sid, title, 3))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["YPResponse"], "1");
    read_events(&mut events, &mut seen, title).await;
}

/// Reads Server-Sent Events until `wanted` appears (20 s at most): nginx must pass each one
/// on as it comes.
async fn read_events(res: &mut reqwest::Response, seen: &mut String, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.contains(wanted) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, res.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("no {wanted:?} in the events ({other:?}); so far:\n{seen}"),
        }
    }
}

/// Failed sign-ins through nginx count against the client nginx saw (X-Forwarded-For), in the
/// database both processes share; what the client writes in its own forwarding headers does
/// not help it. The form and HTTP Basic count together.
async fn sign_ins_are_limited_per_real_client(public: &str, ca: &reqwest::Certificate) {
    // Not from 127.0.0.1: that is the proxy's own address, trusted, and a client there would
    // be believed about whoever it says it forwards for.
    let guesser = Browser::new(public, ca, [127, 0, 0, 4]);
    for n in 0..20 {
        let status = guesser
            .sign_in(&format!("guess{n}"), "wrong", Some(n))
            .await;
        assert_eq!(status, 401, "attempt {n}");
    }
    assert_eq!(
        guesser.sign_in("carol", PASSWORD, None).await,
        429,
        "the guesser's address is out of tries, whichever process answers"
    );
    let carol = Browser::new(public, ca, [127, 0, 0, 2]);
    assert_eq!(
        carol.sign_in("carol", PASSWORD, None).await,
        303,
        "another client behind the same proxy is not locked out"
    );
    // An account's own limit, over HTTP Basic, from a third address.
    let basic = https_client(ca, [127, 0, 0, 3]);
    let admin_api = |password: &'static str| {
        basic
            .get(format!("{public}/api/v1/admin/blocks"))
            .basic_auth("root", Some(password))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(admin_api("wrong").await.unwrap().status(), 401);
    }
    assert_eq!(
        admin_api(PASSWORD).await.unwrap().status(),
        429,
        "five failures lock the account for a while, even with its password"
    );
    assert_eq!(
        carol.sign_in("carol", PASSWORD, None).await,
        303,
        "and only that account"
    );
}

/// A browser's sign-in: the form's page for its CSRF cookie, then the POST.
struct Browser {
    client: reqwest::Client,
    public: String,
}

impl Browser {
    fn new(public: &str, ca: &reqwest::Certificate, from: [u8; 4]) -> Self {
        Self {
            client: https_client(ca, from),
            public: public.to_owned(),
        }
    }

    /// The status of a sign-in; `spoof` makes the request carry forwarding headers of its own.
    async fn sign_in(&self, name: &str, password: &str, spoof: Option<u8>) -> u16 {
        let form = self
            .client
            .get(format!("{}/login", self.public))
            .send()
            .await
            .unwrap();
        let cookie = form
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .find(|c| c.starts_with("onair_login="))
            .expect("the form sets its CSRF cookie");
        let csrf = cookie.split_once('=').unwrap().1.to_owned();
        let mut req = self
            .client
            .post(format!("{}/login", self.public))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "name={name}&password={}&csrf={csrf}",
                password.replace(' ', "+")
            ));
        if let Some(n) = spoof {
            req = req
                .header("x-forwarded-for", format!("203.0.113.{n}"))
                .header("forwarded", format!("for=198.51.100.{n}"));
        }
        req.send().await.unwrap().status().as_u16()
    }
}

/// A client that trusts only the test's certificate authority, connects from `from` (any
/// address of 127/8) and follows no redirects.
fn https_client(ca: &reqwest::Certificate, from: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([ca.clone()])
        .local_address(IpAddr::from(from))
        // nginx listens on 127.0.0.1; never try ::1 for localhost.
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], 0)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Icecast's side of the YP protocol, through the proxy.
struct Icecast<'a> {
    client: &'a reqwest::Client,
    url: String,
}

impl Icecast<'_> {
    /// Sends one YP request, which must succeed; returns the SID (empty if none came).
    async fn send(&self, body: &str) -> String {
        let res = self
            .client
            .post(&self.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("user-agent", "Icecast 2.4.4")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            header("YPResponse").as_deref(),
            Some("1"),
            "{body}: {:?}",
            header("YPMessage")
        );
        header("SID").unwrap_or_default()
    }
}

/// The broadcaster's YP token; also the accounts the sign-in checks use.
async fn accounts_for(url: &str) -> String {
    let db = Db::connect(url, 2).unwrap();
    migrations::run_pending(&db).unwrap();
    let now = Clock::System.now();
    db.write(move |c| {
        let name = |n: &str| UserName::parse(n).unwrap();
        accounts::create_user(c, &name("root"), PASSWORD, true, now)?;
        accounts::create_user(c, &name("carol"), PASSWORD, false, now)?;
        let alice = accounts::create_user(c, &name("alice"), PASSWORD, false, now)?;
        accounts::create_token(c, alice.id, "studio", now).map(|(_, t)| t)
    })
    .await
    .unwrap()
}

struct Ports {
    https: u16,
    http: u16,
    first: u16,
    second: u16,
    peer: u16,
}

/// A certificate authority made for the test and a certificate it signed for localhost.
struct Certs {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Certs {
    fn make(openssl: &Path, dir: &Path) -> Self {
        let run = |args: &[&str]| {
            let out = Command::new(openssl)
                .args(args)
                .current_dir(dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=onair test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "localhost.key",
            "-out",
            "localhost.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            dir.join("localhost.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "localhost.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "localhost.pem",
            "-days",
            "2",
            "-extfile",
            "localhost.ext",
        ]);
        Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("localhost.pem"),
            key: dir.join("localhost.key"),
        }
    }
}

/// One `onair serve` process behind the proxy.
struct Onair {
    child: Child,
    port: u16,
}

impl Onair {
    fn start(db: &str, port: u16, public: &str, ca: &Path, dir: &Path, logs: &mut Logs) -> Self {
        let log_path = dir.join(format!("onair-{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        logs.0.push(log_path);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_onair"));
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("ONAIR_")) {
            cmd.env_remove(key);
        }
        let child = cmd
            .arg("serve")
            .env("ONAIR_DATABASE_URL", db)
            .env("ONAIR_BIND", format!("127.0.0.1:{port}"))
            .env("ONAIR_URL", public)
            .env("ONAIR_TRUSTED_PROXIES", "127.0.0.1")
            .env("ONAIR_TLS_CA_FILE", ca)
            .env("ONAIR_ALLOW_PRIVATE_NETWORKS", "true")
            .env("ONAIR_YP_END_GRACE", "1")
            .env("ONAIR_WORKERS", "2")
            .env("ONAIR_LOG", "info")
            .current_dir(dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Self { child, port }
    }
}

impl Drop for Onair {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx as a child process with its own prefix, configuration, logs and temporary files.
struct Nginx(Child);

impl Nginx {
    fn start(nginx: &Path, dir: &Path, ports: &Ports, certs: &Certs, logs: &mut Logs) -> Self {
        let prefix = dir.join("nginx");
        std::fs::create_dir_all(&prefix).unwrap();
        set_mode(&prefix, 0o755);
        std::fs::write(prefix.join("onair.conf"), site(ports, certs)).unwrap();
        let p = prefix.display();
        let main = format!(
            "daemon off;\nmaster_process on;\nworker_processes 1;\npid {p}/nginx.pid;\n\
             error_log {p}/error.log info;\nevents {{ worker_connections 256; }}\nhttp {{\n\
             access_log {p}/access.log;\nclient_body_temp_path {p}/client_body;\n\
             proxy_temp_path {p}/proxy;\nfastcgi_temp_path {p}/fastcgi;\n\
             uwsgi_temp_path {p}/uwsgi;\nscgi_temp_path {p}/scgi;\n\
             # The test's own: which process answered. The site sets no add_header of its own, \
             so its locations inherit this.\n\
             add_header X-Test-Upstream $upstream_addr always;\n\
             include {p}/onair.conf;\n}}\n"
        );
        std::fs::write(prefix.join("nginx.conf"), main).unwrap();
        logs.0.push(prefix.join("error.log"));
        let args = |cmd: &mut Command| {
            cmd.arg("-p")
                .arg(&prefix)
                .arg("-c")
                .arg(prefix.join("nginx.conf"))
                .arg("-e")
                .arg(prefix.join("error.log"));
        };
        let mut test = Command::new(nginx);
        args(&mut test);
        let out = test.arg("-t").output().unwrap();
        assert!(
            out.status.success(),
            "nginx -t on the shipped site: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut run = Command::new(nginx);
        args(&mut run);
        Self(
            run.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Nginx {
    /// SIGTERM to the master, which stops its workers; SIGKILL would leave them running.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The shipped site with the test's ports, name and certificates, and nothing else changed.
fn site(ports: &Ports, certs: &Certs) -> String {
    let mut site = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/nginx/onair.conf"
    ))
    .unwrap();
    let swaps = [
        (
            "listen 443 ssl http2;",
            format!("listen 127.0.0.1:{} ssl http2;", ports.https),
        ),
        ("listen [::]:443 ssl http2;", String::new()),
        ("listen 80;", format!("listen 127.0.0.1:{};", ports.http)),
        ("listen [::]:80;", String::new()),
        (
            "server_name onair.example;",
            "server_name localhost;".into(),
        ),
        (
            "/etc/letsencrypt/live/onair.example/fullchain.pem",
            certs.cert.display().to_string(),
        ),
        (
            "/etc/letsencrypt/live/onair.example/privkey.pem",
            certs.key.display().to_string(),
        ),
        (
            "server 127.0.0.1:8080 ",
            format!("server 127.0.0.1:{} ", ports.first),
        ),
        (
            "server 127.0.0.1:8081 ",
            format!("server 127.0.0.1:{} ", ports.second),
        ),
    ];
    for (from, to) in swaps {
        assert!(
            site.contains(from),
            "deploy/nginx/onair.conf no longer has `{from}`: say here what replaces it"
        );
        site = site.replace(from, &to);
    }
    site
}

/// The Fedify peer, serving https with the test's certificate and trusting its authority.
struct Peer {
    _process: Guard,
    port: u16,
    client: reqwest::Client,
}

impl Peer {
    async fn start(
        dir: &str,
        node: &str,
        port: u16,
        certs: &Certs,
        ca: &reqwest::Certificate,
        logs: &mut Logs,
    ) -> Self {
        let log_path = certs.ca.with_file_name("fedify.log");
        let log = std::fs::File::create(&log_path).unwrap();
        logs.0.push(log_path);
        let process = Guard(
            Command::new(node)
                .args(["fedify_peer.mjs", "serve", "--port", &port.to_string()])
                .args(["--host", "localhost", "--name", "bob", "--tls-cert"])
                .arg(&certs.cert)
                .arg("--tls-key")
                .arg(&certs.key)
                .env("NODE_EXTRA_CA_CERTS", &certs.ca)
                .current_dir(dir)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        let peer = Self {
            _process: process,
            port,
            client: https_client(ca, [127, 0, 0, 1]),
        };
        until("the peer starts", 30, async || peer.control("log").await).await;
        peer
    }

    async fn control(&self, path: &str) -> Option<serde_json::Value> {
        let res = self
            .client
            .get(format!("https://localhost:{}/_control/{path}", self.port))
            .send()
            .await
            .ok()?;
        if res.status() != 200 {
            return None;
        }
        res.json().await.ok()
    }

    /// The first activity of type `kind` that passed Fedify's signature verification.
    async fn verified(&self, kind: &str) -> Option<serde_json::Value> {
        self.control("log")
            .await?
            .as_array()?
            .iter()
            .find(|e| e["verified"] == true && e["type"] == kind)
            .cloned()
    }

    async fn held(&self) -> Option<Vec<serde_json::Value>> {
        self.control("held").await?.as_array().cloned()
    }
}

/// Which of `pids` holds a TCP socket whose local port is `port` (from /proc).
fn owner_of_local_port(pids: &[u32], port: u16) -> Option<u32> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1).and_then(|a| a.rsplit(':').next());
            if local.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port)
                && let Some(inode) = fields.get(9)
            {
                inodes.insert(format!("socket:[{inode}]"));
            }
        }
    }
    pids.iter().copied().find(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|link| inodes.contains(link.to_string_lossy().as_ref()))
    })
}

/// A tool the test needs: `var`, else one of `candidates`, else on PATH. Missing, it fails
/// under CI and is skipped (with the reason) elsewhere.
fn tool(name: &str, var: &str, candidates: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::var_os(var)
        .map(PathBuf::from)
        .into_iter()
        .chain(candidates.iter().map(PathBuf::from))
        .chain(std::env::split_paths(&path).map(|d| d.join(name)))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            !in_ci(),
            "{name} is required under CI=true on PostgreSQL (.ci/run installs it)"
        );
        eprintln!("skipped: no {name} (install Debian's {name}, or set {var})");
    }
    found
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Polls `check` every 200 ms until it gives a value; fails after `seconds`.
async fn until<T>(what: &str, seconds: u64, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {seconds} s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Log files printed (their ends) when the test fails.
struct Logs(Vec<PathBuf>);

impl Drop for Logs {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for path in &self.0 {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            eprintln!("--- {} (last {} lines)", path.display(), tail.len());
            for line in tail {
                eprintln!("{line}");
            }
        }
    }
}
