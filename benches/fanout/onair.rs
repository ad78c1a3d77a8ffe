//! One `onair serve` process, spoken to only over HTTP, as Icecast would.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::common::{cpu_seconds, peak_rss_kib};

/// The YP add of the bench's stream; the same every time, so a repeat continues nothing and
/// starts a new broadcast (after the bench ended the last one).
const ADD: &str = "action=add&sn=Fan%20Out%20FM&genre=bench&type=audio%2fmpeg&listenurl=http%3a%2f%2fradio%2eexample%2ffan&b=128";

/// How long a starting process may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `onair serve`, killed when dropped.
pub struct Onair {
    child: Child,
    port: u16,
    public_url: String,
    client: reqwest::Client,
}

impl Onair {
    /// A process of its own on `database_url`, at a free port.
    pub fn start(database_url: &str) -> Self {
        let port = free_port();
        Self::spawn(database_url, port, format!("http://localhost:{port}"))
    }

    /// A second process of the same instance: same database and public URL, another port (as
    /// behind a load balancer).
    pub fn start_beside(first: &Self, database_url: &str) -> Self {
        Self::spawn(database_url, free_port(), first.public_url.clone())
    }

    fn spawn(database_url: &str, port: u16, public_url: String) -> Self {
        // BENCH_ONAIR runs another build (an older commit's, say) against the same harness.
        let binary =
            std::env::var("BENCH_ONAIR").unwrap_or_else(|_| env!("CARGO_BIN_EXE_onair").to_owned());
        let child = Command::new(binary)
            .arg("serve")
            .env("ONAIR_DATABASE_URL", database_url)
            .env("ONAIR_BIND", format!("127.0.0.1:{port}"))
            .env("ONAIR_URL", &public_url)
            .env("ONAIR_ALLOW_PRIVATE_NETWORKS", "true")
            // The bench never touches: with the default three missed touches the reaper would
            // end the broadcast 90 s after the go-live and queue its Delete to every follower,
            // superseding the Creates not yet sent (and reaching the sinks as second requests).
            .env("ONAIR_YP_MISSED_TOUCHES", "1000")
            .env("ONAIR_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Self {
            child,
            port,
            public_url,
            client: reqwest::Client::new(),
        }
    }

    /// `host:port` of the public URL: the domain activities are signed for.
    pub fn public_authority(&self) -> &str {
        self.public_url.trim_start_matches("http://")
    }

    fn yp(&self, token: &str) -> String {
        format!("http://127.0.0.1:{}/api/icecast/yp/{token}", self.port)
    }

    /// The YP add, sent once.
    pub async fn add(&self, token: &str) -> reqwest::Response {
        self.client
            .post(self.yp(token))
            .body(ADD)
            .send()
            .await
            .unwrap()
    }

    /// The YP add, retried until the process answers; returns the SID.
    pub async fn first_add(&self, token: &str) -> String {
        let started = Instant::now();
        let answer = loop {
            match self.client.post(self.yp(token)).body(ADD).send().await {
                Ok(res) => break res,
                Err(_) if started.elapsed() < START_TIMEOUT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("onair did not start: {e}"),
            }
        };
        answer.headers()["SID"].to_str().unwrap().to_owned()
    }

    /// The YP remove of broadcast `sid`.
    pub async fn remove(&self, token: &str, sid: &str) {
        self.client
            .post(self.yp(token))
            .body(format!("action=remove&sid={sid}"))
            .send()
            .await
            .unwrap();
    }

    /// Returns once the process answers `/healthz` with a success.
    pub async fn wait_healthy(&self) {
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        let started = Instant::now();
        loop {
            match self.client.get(&url).send().await {
                Ok(res) if res.status().is_success() => return,
                _ if started.elapsed() < START_TIMEOUT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => panic!("onair did not become healthy: {other:?}"),
            }
        }
    }

    /// The process's user plus system CPU seconds so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.child.id())
    }

    /// The process's peak resident set (VmHWM), MiB.
    pub fn peak_rss_mib(&self) -> u64 {
        peak_rss_kib(self.child.id()) / 1024
    }
}

impl Drop for Onair {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
