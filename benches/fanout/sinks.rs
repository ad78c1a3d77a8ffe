//! Stand-ins for the followers' instances. An instance is one listening address (`host:port`
//! is onair's unit of per-host limits); its sink counts what arrives per inbox, so a duplicate is
//! seen even where the totals add up. Sinks share the cores with the server, so they stay cheap:
//! the counting is a few atomics. The body is read all the same, as a real inbox does (left
//! unread, actix closes the connection: every delivery would pay for a new one).

use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr, TcpListener},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle, web};
use tokio::{io::AsyncReadExt, task::JoinSet};

use super::station::FollowerRow;

/// A listening address standing for one remote instance.
pub struct Instance {
    /// `host:port` as the inbox URLs name it.
    pub authority: String,
    listener: TcpListener,
}

impl Instance {
    /// An instance listening on `ip` at a free port, named `name` in URLs.
    pub fn bind(ip: Ipv4Addr, name: &str) -> Self {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        Self {
            authority: format!("{name}:{port}"),
            listener,
        }
    }

    /// `n` instances on 127.0.0.1, named `localhost` in URLs as the clean run always had them.
    pub fn localhost(n: usize) -> Vec<Self> {
        (0..n)
            .map(|_| Self::bind(Ipv4Addr::LOCALHOST, "localhost"))
            .collect()
    }

    fn addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap()
    }

    fn listener(&self) -> TcpListener {
        self.listener.try_clone().unwrap()
    }

    /// The follower `k` of this instance; it names the shared inbox when `shared` is set.
    pub fn follower(&self, k: usize, shared: bool) -> FollowerRow {
        FollowerRow {
            actor: format!("http://{}/u{k}", self.authority),
            inbox: format!("http://{}/u{k}/inbox", self.authority),
            shared_inbox: shared.then(|| format!("http://{}/inbox", self.authority)),
        }
    }
}

/// Follower rows for `counts[i]` followers on instance `i`, taken round-robin over the instances
/// (follower 0 of each, then follower 1 of each, …), as follows arrive from many places at once.
pub fn round_robin(instances: &[&Instance], counts: &[usize], shared: bool) -> Vec<FollowerRow> {
    let most = counts.iter().copied().max().unwrap_or(0);
    (0..most)
        .flat_map(|k| {
            instances
                .iter()
                .zip(counts)
                .filter(move |(_, n)| k < **n)
                .map(move |(i, _)| i.follower(k, shared))
        })
        .collect()
}

/// `total` followers spread evenly over `n` instances: how many each gets.
pub fn even_split(total: usize, n: usize) -> Vec<usize> {
    (0..n)
        .map(|i| total / n + usize::from(i < total % n))
        .collect()
}

/// Which paths of an instance are its inboxes.
#[derive(Debug, Clone, Copy)]
pub enum Inboxes {
    /// `/u{k}/inbox` for k below this: its followers' own inboxes.
    Personal(usize),
    /// `/inbox`: the instance's shared inbox.
    Shared,
}

/// Several instances whose inboxes are awaited together (the healthy ones, the slow ones…).
#[derive(Debug, Default)]
pub struct Group {
    expected: AtomicUsize,
    reached: AtomicUsize,
    arrivals: AtomicUsize,
    served_at: Mutex<Option<Instant>>,
}

impl Group {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Inboxes in the group.
    pub fn expected(&self) -> usize {
        self.expected.load(Ordering::Relaxed)
    }

    /// Inboxes that got at least one request.
    pub fn reached(&self) -> usize {
        self.reached.load(Ordering::Relaxed)
    }

    /// Requests to the group's inboxes, duplicates included.
    pub fn arrivals(&self) -> usize {
        self.arrivals.load(Ordering::Relaxed)
    }

    /// Every inbox reached.
    pub fn served(&self) -> bool {
        self.reached() >= self.expected()
    }

    /// When the last of its inboxes was first reached.
    pub fn served_at(&self) -> Option<Instant> {
        *self.served_at.lock().unwrap()
    }

    fn reset(&self) {
        self.reached.store(0, Ordering::Relaxed);
        self.arrivals.store(0, Ordering::Relaxed);
        *self.served_at.lock().unwrap() = None;
    }
}

/// What one instance's inboxes got: requests per inbox.
#[derive(Debug)]
pub struct Tally {
    inboxes: Inboxes,
    per_inbox: Box<[AtomicU32]>,
    reached: AtomicUsize,
    served_at: Mutex<Option<Instant>>,
    group: Arc<Group>,
}

impl Tally {
    /// The tally of one instance, counted in `group` too.
    pub fn new(inboxes: Inboxes, group: &Arc<Group>) -> Arc<Self> {
        let n = match inboxes {
            Inboxes::Personal(n) => n,
            Inboxes::Shared => 1,
        };
        group.expected.fetch_add(n, Ordering::Relaxed);
        Arc::new(Self {
            inboxes,
            per_inbox: (0..n).map(|_| AtomicU32::new(0)).collect(),
            reached: AtomicUsize::new(0),
            served_at: Mutex::new(None),
            group: group.clone(),
        })
    }

    fn slot(&self, path: &str) -> Option<usize> {
        match self.inboxes {
            Inboxes::Shared => (path == "/inbox").then_some(0),
            Inboxes::Personal(n) => path
                .strip_prefix("/u")?
                .strip_suffix("/inbox")?
                .parse()
                .ok()
                .filter(|k| *k < n),
        }
    }

    /// Counts a request to `path`; false if it is none of this instance's inboxes.
    fn arrive(&self, path: &str) -> bool {
        let Some(slot) = self.slot(path) else {
            return false;
        };
        self.group.arrivals.fetch_add(1, Ordering::Relaxed);
        if self.per_inbox[slot].fetch_add(1, Ordering::Relaxed) == 0 {
            let now = Instant::now();
            if self.reached.fetch_add(1, Ordering::Relaxed) + 1 == self.per_inbox.len() {
                *self.served_at.lock().unwrap() = Some(now);
            }
            if self.group.reached.fetch_add(1, Ordering::Relaxed) + 1 == self.group.expected() {
                *self.group.served_at.lock().unwrap() = Some(now);
            }
        }
        true
    }

    /// Inboxes that got more than one request.
    pub fn duplicated(&self) -> usize {
        self.per_inbox
            .iter()
            .filter(|c| c.load(Ordering::Relaxed) > 1)
            .count()
    }

    /// When every inbox of the instance had been reached.
    pub fn served_at(&self) -> Option<Instant> {
        *self.served_at.lock().unwrap()
    }

    /// Forgets every count (and its group's), for a second fan-out to the same inboxes.
    pub fn reset(&self) {
        for c in &self.per_inbox {
            c.store(0, Ordering::Relaxed);
        }
        self.reached.store(0, Ordering::Relaxed);
        *self.served_at.lock().unwrap() = None;
        self.group.reset();
    }
}

/// Every instance's tally by the address its sink listens on (the connection's, so nothing
/// depends on what onair puts in the Host header), shared by the sink servers.
#[derive(Debug, Default)]
pub struct Registry {
    by_addr: HashMap<SocketAddr, Arc<Tally>>,
    stray: AtomicUsize,
}

impl Registry {
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a Instance, &'a Arc<Tally>)>) -> Arc<Self> {
        Arc::new(Self {
            by_addr: pairs
                .into_iter()
                .map(|(i, t)| (i.addr(), t.clone()))
                .collect(),
            stray: AtomicUsize::new(0),
        })
    }

    fn arrive(&self, local: SocketAddr, path: &str) {
        let counted = self.by_addr.get(&local).is_some_and(|t| t.arrive(path));
        if !counted {
            self.stray.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests to no inbox the run expected (another path, another instance).
    pub fn stray(&self) -> usize {
        self.stray.load(Ordering::Relaxed)
    }
}

/// Healthy instances: every POST answered 202 at once.
pub struct HealthySink {
    handle: ServerHandle,
}

impl HealthySink {
    /// One server (one worker thread) for all of `instances`.
    pub fn start(instances: &[&Instance], registry: &Arc<Registry>) -> Self {
        Self {
            handle: serve(instances, registry, None),
        }
    }

    /// One server per instance, as the clean run has always had them.
    pub fn start_each(instances: &[&Instance], registry: &Arc<Registry>) -> Vec<Self> {
        instances
            .iter()
            .map(|i| Self::start(&[i], registry))
            .collect()
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Overloaded instances: every POST answered 202, but only after `delay`.
pub struct SlowSink {
    handle: ServerHandle,
}

impl SlowSink {
    /// One server per instance, like the healthy ones of the faulty run.
    pub fn start_each(
        instances: &[&Instance],
        registry: &Arc<Registry>,
        delay: Duration,
    ) -> Vec<Self> {
        instances
            .iter()
            .map(|i| Self {
                handle: serve(&[i], registry, Some(delay)),
            })
            .collect()
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// A server counting requests to `instances` into `registry`, answering after `delay` if any.
fn serve(
    instances: &[&Instance],
    registry: &Arc<Registry>,
    delay: Option<Duration>,
) -> ServerHandle {
    let registry = registry.clone();
    let mut server = HttpServer::new(move || {
        let registry = registry.clone();
        // The body is taken, as a real inbox does: actix closes a connection whose request
        // body was left unread, which would make every delivery a new connection.
        App::new().default_service(web::to(move |req: HttpRequest, _body: web::Bytes| {
            registry.arrive(req.app_config().local_addr(), req.path());
            async move {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                HttpResponse::Accepted().finish()
            }
        }))
    })
    .workers(1)
    .disable_signals();
    for instance in instances {
        server = server.listen(instance.listener()).unwrap();
    }
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    handle
}

/// Instances that have gone quiet: the connection is accepted and the request read, but no
/// answer ever comes and the connection is held until the sink is dropped.
pub struct SilentSink {
    task: tokio::task::JoinHandle<()>,
    connections: Arc<AtomicUsize>,
}

impl SilentSink {
    pub fn start(instances: &[&Instance]) -> Self {
        let connections = Arc::new(AtomicUsize::new(0));
        let listeners: Vec<TcpListener> = instances.iter().map(|i| i.listener()).collect();
        let counter = connections.clone();
        // One task owns every accept loop, and each loop its connections: aborting it closes all.
        let task = tokio::spawn(async move {
            let mut loops = JoinSet::new();
            for listener in listeners {
                listener.set_nonblocking(true).unwrap();
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loops.spawn(hold_connections(listener, counter.clone()));
            }
            while loops.join_next().await.is_some() {}
        });
        Self { task, connections }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for SilentSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hold_connections(listener: tokio::net::TcpListener, count: Arc<AtomicUsize>) {
    let mut held = JoinSet::new();
    while let Ok((mut stream, _)) = listener.accept().await {
        count.fetch_add(1, Ordering::Relaxed);
        held.spawn(async move {
            let mut buf = [0; 4096];
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            // The peer gave up; still no answer, and the socket stays ours until the end.
            std::future::pending::<()>().await;
            drop(stream);
        });
    }
}
