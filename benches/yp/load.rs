//! The load: one keep-alive connection per simulated Icecast, each adding its mounts and then
//! touching them in turn, one request at a time (Icecast's single YP thread), as fast as the
//! answers come back.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::icecast::{Mount, request};

/// One simulated Icecast's connection to the directory, reopened the way libcurl would if the
/// server closes it.
pub struct Conn {
    stream: TcpStream,
    port: u16,
    host: String,
    path: String,
    buf: Vec<u8>,
    out: Vec<u8>,
    /// Times the server closed the connection (or said it would) and it was reopened.
    pub reconnects: u64,
}

/// What one answer said.
pub struct Answer {
    pub ok: bool,
    pub sid: Option<String>,
}

impl Conn {
    pub async fn open(port: u16, path: &str) -> Self {
        Self {
            stream: connect(port).await,
            port,
            host: format!("127.0.0.1:{port}"),
            path: path.to_owned(),
            buf: Vec::with_capacity(1024),
            out: Vec::with_capacity(1024),
            reconnects: 0,
        }
    }

    /// Sends one YP request and reads the whole answer.
    pub async fn send(&mut self, body: &[u8]) -> Answer {
        request(&mut self.out, &self.host, &self.path, body);
        loop {
            if self.stream.write_all(&self.out).await.is_ok()
                && let Some((answer, close)) = self.read_answer().await
            {
                if close {
                    self.reopen().await;
                }
                return answer;
            }
            // Closed before answering (an idle keep-alive timing out): curl retries once on a
            // fresh connection.
            self.reopen().await;
        }
    }

    async fn reopen(&mut self) {
        self.stream = connect(self.port).await;
        self.reconnects += 1;
    }

    /// The answer, and whether the server will close the connection after it; `None` if it
    /// closed before answering.
    async fn read_answer(&mut self) -> Option<(Answer, bool)> {
        self.buf.clear();
        let mut chunk = [0u8; 2048];
        let end = loop {
            let n = self.stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        let length: usize = header(&head, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while self.buf.len() < end + 4 + length {
            let n = self.stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let close = header(&head, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let answer = Answer {
            ok: header(&head, "ypresponse") == Some("1"),
            sid: header(&head, "sid").map(str::to_owned),
        };
        Some((answer, close))
    }
}

async fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // libcurl's default (CURLOPT_TCP_NODELAY) since 7.50.2.
    stream.set_nodelay(true).unwrap();
    stream
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").find_map(|l| {
        l.split_once(": ")
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// One simulated Icecast: its connection and its mounts with their SIDs.
pub struct Icecast {
    pub conn: Conn,
    pub mounts: Vec<(usize, Mount, String)>,
}

impl Icecast {
    /// Connects and adds `mounts` (stream numbers) one after the other.
    pub async fn start(port: u16, path: &str, mounts: Vec<usize>) -> Self {
        let mut conn = Conn::open(port, path).await;
        let mut added = Vec::with_capacity(mounts.len());
        for i in mounts {
            let mount = Mount::new(i);
            let answer = conn.send(&mount.add_body()).await;
            let sid = answer.sid.filter(|_| answer.ok).expect("add refused");
            added.push((i, mount, sid));
        }
        Self {
            conn,
            mounts: added,
        }
    }

    /// Touches its mounts in turn until `deadline`; returns each touch's latency and how many
    /// were refused.
    pub async fn touch_until(&mut self, deadline: Instant) -> (Vec<Duration>, u64) {
        let (mut latencies, mut refused) = (Vec::with_capacity(1 << 16), 0);
        let mut body = Vec::with_capacity(512);
        let mut k = 0;
        while Instant::now() < deadline {
            let (i, mount, sid) = &self.mounts[k % self.mounts.len()];
            let round = k / self.mounts.len();
            mount.touch_body(&mut body, sid, mount.title(round, *i), (round + i) % 50);
            let t = Instant::now();
            let answer = self.conn.send(&body).await;
            latencies.push(t.elapsed());
            refused += u64::from(!answer.ok);
            k += 1;
        }
        (latencies, refused)
    }

    /// Sends the same touches to `path`, a YP URL with a token that cannot exist (refused before
    /// any database work), until `deadline`: what a request costs the server without its batch.
    /// Returns how many were answered, and how many of those were wrongly accepted.
    pub async fn refused_until(&mut self, deadline: Instant, path: &str) -> (u64, u64) {
        let real = std::mem::replace(&mut self.conn.path, path.to_owned());
        let (mut answered, mut accepted) = (0, 0);
        let mut body = Vec::with_capacity(512);
        while Instant::now() < deadline {
            let (i, mount, sid) = &self.mounts[answered as usize % self.mounts.len()];
            mount.touch_body(&mut body, sid, mount.title(0, *i), 1);
            accepted += u64::from(self.conn.send(&body).await.ok);
            answered += 1;
        }
        self.conn.path = real;
        (answered, accepted)
    }
}
