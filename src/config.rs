//! Settings: a plain serde tree read from an optional TOML file, then `ONAIR_*` environment
//! variables, which win. Loaded once at start and passed explicitly; there is no global.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use url::Url;

use crate::{
    error::{Error, Result},
    proxies::{ForwardedHeader, TrustedProxies},
};

/// Icecast raises any `TouchFreq` below this to it.
const ICECAST_MIN_TOUCH_FREQ: u32 = 30;

/// Everything onair can be told. Every key is listed with its default in `config.example.toml`.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Public base URL people and Icecast reach this instance at (`ONAIR_URL`).
    pub url: Url,
    /// Address the HTTP server listens on (`ONAIR_BIND`).
    pub bind: SocketAddr,
    /// SQLite path / `sqlite://path`, or a `postgres://` URL (`ONAIR_DATABASE_URL`).
    pub database_url: String,
    /// Largest number of pooled database connections per process (`ONAIR_DATABASE_POOL_SIZE`).
    pub database_pool_size: u32,
    /// Allow listen URLs (and later federation peers) on loopback and private addresses
    /// (`ONAIR_ALLOW_PRIVATE_NETWORKS`): for tests and home setups.
    pub allow_private_networks: bool,
    /// Streams one account may register (`ONAIR_MAX_STREAMS_PER_USER`).
    pub max_streams_per_user: u32,
    /// HTTP worker threads; 0 means one per CPU (`ONAIR_WORKERS`).
    pub workers: usize,
    /// Followers get at most one title `Update` per broadcast in this many seconds
    /// (`ONAIR_UPDATE_INTERVAL`).
    pub update_interval: u32,
    /// The language of posts (BCP 47, `contentMap`) for streams whose broadcaster chose none
    /// (`ONAIR_LANGUAGE`).
    pub language: String,
    /// A broadcast that starts this many seconds before a scheduled show (or during it) is that
    /// show (`ONAIR_SHOW_EARLY`).
    pub show_early: u32,
    /// Reverse proxies (addresses or CIDR networks) whose forwarding header is believed
    /// (`ONAIR_TRUSTED_PROXIES`, comma-separated). Empty: every request's client is its peer.
    pub trusted_proxies: TrustedProxies,
    /// Which header they write the client's address into: `x-forwarded-for` or `forwarded`
    /// (`ONAIR_FORWARDED_HEADER`).
    pub forwarded_header: ForwardedHeader,
    /// Extra certificate authorities (PEM) trusted by outgoing https besides the system's:
    /// a private CA in front of peers or tests (`ONAIR_TLS_CA_FILE`).
    pub tls_ca_file: Option<PathBuf>,
    /// The Icecast YP directory.
    pub yp: YpConfig,
    /// The federated catalog of remote streams.
    pub catalog: CatalogConfig,
    /// Sending activities to other servers.
    pub delivery: DeliveryConfig,
    /// What one connection or one client may hold and ask for.
    pub limits: LimitsConfig,
}

/// Timeouts and caps that keep hostile or careless clients from taking the server down.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Seconds a client has to send a request's head (`ONAIR_LIMITS_HEADER_TIMEOUT`).
    pub header_timeout: u32,
    /// Seconds a client has to send a request's whole body (`ONAIR_LIMITS_BODY_TIMEOUT`).
    pub body_timeout: u32,
    /// Seconds an idle keep-alive connection stays open (`ONAIR_LIMITS_KEEP_ALIVE`): above
    /// Icecast's 30 s touch interval, so its directory connection is reused.
    pub keep_alive: u32,
    /// Seconds a handler may take to answer (`ONAIR_LIMITS_HANDLER_TIMEOUT`).
    pub handler_timeout: u32,
    /// Connections held at once by this process; 0: what the descriptor limit leaves room
    /// for (`ONAIR_LIMITS_MAX_CONNECTIONS`).
    pub max_connections: u32,
    /// Open live-title event streams, in total (`ONAIR_LIMITS_EVENT_STREAMS`; never more than
    /// half the connections) and per client (`ONAIR_LIMITS_EVENT_STREAMS_PER_CLIENT`).
    pub event_streams: u32,
    pub event_streams_per_client: u32,
    /// Requests a second per client, after a burst, on the public routes that cost work: pages,
    /// the JSON API, WebFinger and NodeInfo, event streams (`ONAIR_LIMITS_PUBLIC_RATE`,
    /// `ONAIR_LIMITS_PUBLIC_BURST`; a rate of 0 turns the limit off).
    pub public_rate: u32,
    pub public_burst: u32,
    /// The same for inbox posts, counted before their signature is checked
    /// (`ONAIR_LIMITS_INBOX_RATE`, `ONAIR_LIMITS_INBOX_BURST`).
    pub inbox_rate: u32,
    pub inbox_burst: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            header_timeout: 5,
            body_timeout: 10,
            keep_alive: 120,
            handler_timeout: 30,
            max_connections: 0,
            event_streams: 10_000,
            event_streams_per_client: 8,
            public_rate: 20,
            public_burst: 200,
            inbox_rate: 100,
            inbox_burst: 1000,
        }
    }
}

/// How activities are sent to followers' inboxes.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Requests in flight at once per process, slow ones aside (`ONAIR_DELIVERY_CONCURRENCY`).
    pub concurrency: usize,
    /// Requests in flight at once to one host (`ONAIR_DELIVERY_PER_HOST`).
    pub per_host: usize,
    /// Seconds one request may take, answer included (`ONAIR_DELIVERY_TIMEOUT`).
    pub timeout: u32,
    /// Seconds allowed to connect, within the timeout (`ONAIR_DELIVERY_CONNECT_TIMEOUT`).
    pub connect_timeout: u32,
    /// Finished deliveries (delivered, failed, superseded) are forgotten after this many days
    /// (`ONAIR_DELIVERY_RETENTION_DAYS`).
    pub retention_days: u32,
}

/// How the federated catalog stays true, and whom it federates with.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogConfig {
    /// A live remote entry nobody told us about for this many seconds is fetched again from its
    /// origin (`ONAIR_CATALOG_REFRESH_AFTER`).
    pub refresh_after: u32,
    /// Entries whose origin failed to answer for this many seconds are hidden until it answers
    /// again (`ONAIR_CATALOG_HIDE_AFTER`).
    pub hide_after: u32,
    /// When not empty, federate only with these domains: allow-list mode
    /// (`ONAIR_CATALOG_ALLOWED_DOMAINS`, comma-separated).
    pub allowed_domains: Vec<String>,
}

/// How the YP directory paces Icecast and expires listings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct YpConfig {
    /// Seconds sent as `TouchFreq` (`ONAIR_YP_TOUCH_FREQ`). Icecast raises anything below 30 to 30
    /// by itself; smaller values are kept as configured so tests can expire listings fast.
    pub touch_freq: u32,
    /// Seconds between a `remove` and the end of the broadcast (`ONAIR_YP_END_GRACE`): covers
    /// Icecast's 60 s re-add after a source reconnects.
    pub end_grace: u32,
    /// The reaper ends a broadcast after this many missed touches (`ONAIR_YP_MISSED_TOUCHES`).
    pub missed_touches: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            url: Url::parse("http://localhost:8080").unwrap_or_else(|_| unreachable!()),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "onair.db".to_owned(),
            database_pool_size: 8,
            allow_private_networks: false,
            max_streams_per_user: 20,
            workers: 0,
            // Each edit of a post notifies everyone on Mastodon who boosted it.
            update_interval: 600,
            language: "en".to_owned(),
            show_early: 900,
            trusted_proxies: TrustedProxies::default(),
            forwarded_header: ForwardedHeader::default(),
            tls_ca_file: None,
            yp: YpConfig::default(),
            catalog: CatalogConfig::default(),
            delivery: DeliveryConfig::default(),
            limits: LimitsConfig::default(),
        }
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            concurrency: 64,
            per_host: 8,
            timeout: 10,
            connect_timeout: 5,
            retention_days: 7,
        }
    }
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self {
            refresh_after: 600,
            hide_after: 1800,
            allowed_domains: Vec::new(),
        }
    }
}

impl Default for YpConfig {
    fn default() -> Self {
        Self {
            touch_freq: 30,
            end_grace: 90,
            missed_touches: 3,
        }
    }
}

impl std::fmt::Debug for Config {
    // Written by hand so a database password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut db = Url::parse(&self.database_url).ok();
        if let Some(u) = db.as_mut().filter(|u| u.password().is_some()) {
            let _ = u.set_password(Some("REDACTED"));
        }
        f.debug_struct("Config")
            .field("url", &self.url.as_str())
            .field("bind", &self.bind)
            .field(
                "database_url",
                &db.map_or_else(|| self.database_url.clone(), String::from),
            )
            .field("database_pool_size", &self.database_pool_size)
            .field("allow_private_networks", &self.allow_private_networks)
            .field("max_streams_per_user", &self.max_streams_per_user)
            .field("workers", &self.workers)
            .field("update_interval", &self.update_interval)
            .field("language", &self.language)
            .field("show_early", &self.show_early)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("forwarded_header", &self.forwarded_header)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("yp", &self.yp)
            .field("catalog", &self.catalog)
            .field("delivery", &self.delivery)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Config {
    /// How early a broadcast may start and still be its show (`show_early`).
    pub fn show_window(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(i64::from(self.show_early))
    }

    /// Reads `file` (if any), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        Self::load_from(file, std::env::vars())
    }

    /// [`Config::load`] with the environment passed in (tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
                toml::from_str(&text)
                    .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
            }
            None => Self::default(),
        };
        for (key, value) in env {
            if key.starts_with("ONAIR_") {
                config.set_env(&key, &value)?;
            }
        }
        config.validate()?;
        Ok(config)
    }

    fn set_env(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "ONAIR_URL" => self.url = parse(key, value)?,
            "ONAIR_BIND" => self.bind = parse(key, value)?,
            "ONAIR_DATABASE_URL" => value.clone_into(&mut self.database_url),
            "ONAIR_DATABASE_POOL_SIZE" => self.database_pool_size = parse(key, value)?,
            "ONAIR_ALLOW_PRIVATE_NETWORKS" => self.allow_private_networks = parse_bool(key, value)?,
            "ONAIR_MAX_STREAMS_PER_USER" => self.max_streams_per_user = parse(key, value)?,
            "ONAIR_WORKERS" => self.workers = parse(key, value)?,
            "ONAIR_UPDATE_INTERVAL" => self.update_interval = parse(key, value)?,
            "ONAIR_LANGUAGE" => value.clone_into(&mut self.language),
            "ONAIR_SHOW_EARLY" => self.show_early = parse(key, value)?,
            "ONAIR_TRUSTED_PROXIES" => {
                self.trusted_proxies = TrustedProxies::parse_list(value)
                    .map_err(|e| Error::Config(format!("{key}: {e}")))?;
            }
            "ONAIR_FORWARDED_HEADER" => {
                self.forwarded_header = ForwardedHeader::parse(value)
                    .map_err(|e| Error::Config(format!("{key}: {e}")))?;
            }
            "ONAIR_TLS_CA_FILE" => {
                self.tls_ca_file = Some(value.trim())
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from);
            }
            "ONAIR_YP_TOUCH_FREQ" => self.yp.touch_freq = parse(key, value)?,
            "ONAIR_YP_END_GRACE" => self.yp.end_grace = parse(key, value)?,
            "ONAIR_YP_MISSED_TOUCHES" => self.yp.missed_touches = parse(key, value)?,
            "ONAIR_CATALOG_REFRESH_AFTER" => self.catalog.refresh_after = parse(key, value)?,
            "ONAIR_CATALOG_HIDE_AFTER" => self.catalog.hide_after = parse(key, value)?,
            "ONAIR_DELIVERY_CONCURRENCY" => self.delivery.concurrency = parse(key, value)?,
            "ONAIR_DELIVERY_PER_HOST" => self.delivery.per_host = parse(key, value)?,
            "ONAIR_DELIVERY_TIMEOUT" => self.delivery.timeout = parse(key, value)?,
            "ONAIR_DELIVERY_CONNECT_TIMEOUT" => self.delivery.connect_timeout = parse(key, value)?,
            "ONAIR_DELIVERY_RETENTION_DAYS" => self.delivery.retention_days = parse(key, value)?,
            "ONAIR_LIMITS_HEADER_TIMEOUT" => self.limits.header_timeout = parse(key, value)?,
            "ONAIR_LIMITS_BODY_TIMEOUT" => self.limits.body_timeout = parse(key, value)?,
            "ONAIR_LIMITS_KEEP_ALIVE" => self.limits.keep_alive = parse(key, value)?,
            "ONAIR_LIMITS_HANDLER_TIMEOUT" => self.limits.handler_timeout = parse(key, value)?,
            "ONAIR_LIMITS_MAX_CONNECTIONS" => self.limits.max_connections = parse(key, value)?,
            "ONAIR_LIMITS_EVENT_STREAMS" => self.limits.event_streams = parse(key, value)?,
            "ONAIR_LIMITS_EVENT_STREAMS_PER_CLIENT" => {
                self.limits.event_streams_per_client = parse(key, value)?;
            }
            "ONAIR_LIMITS_PUBLIC_RATE" => self.limits.public_rate = parse(key, value)?,
            "ONAIR_LIMITS_PUBLIC_BURST" => self.limits.public_burst = parse(key, value)?,
            "ONAIR_LIMITS_INBOX_RATE" => self.limits.inbox_rate = parse(key, value)?,
            "ONAIR_LIMITS_INBOX_BURST" => self.limits.inbox_burst = parse(key, value)?,
            "ONAIR_CATALOG_ALLOWED_DOMAINS" => {
                self.catalog.allowed_domains = value
                    .split(',')
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect();
            }
            // Read elsewhere (clap, logging, tests, CI), not settings.
            "ONAIR_CONFIG" | "ONAIR_LOG" | "ONAIR_TEST_DATABASE_URL" | "ONAIR_CI_POSTGRES_URL" => {}
            // A typo would otherwise be ignored silently.
            _ => tracing::warn!(variable = key, "unknown ONAIR_ variable ignored"),
        }
        Ok(())
    }

    fn validate(&mut self) -> Result<()> {
        if !matches!(self.url.scheme(), "http" | "https") || self.url.host().is_none() {
            return Err(Error::Config(format!(
                "url must be an http(s) URL with a host, got {}",
                self.url
            )));
        }
        if self.url.query().is_some() || self.url.fragment().is_some() {
            return Err(Error::Config(
                "url must not carry a query or fragment".to_owned(),
            ));
        }
        if !self.url.path().ends_with('/') {
            // Urls joins paths onto this base; a missing slash would drop the last segment.
            let path = format!("{}/", self.url.path());
            self.url.set_path(&path);
        }
        self.language = crate::text::language(&self.language).ok_or_else(|| {
            Error::Config(format!(
                "language must be a BCP 47 tag such as en or pt-BR, got {:?}",
                self.language
            ))
        })?;
        let limits = &self.limits;
        if [
            limits.header_timeout,
            limits.body_timeout,
            limits.keep_alive,
            limits.handler_timeout,
        ]
        .iter()
        .any(|s| !(1..=3600).contains(s))
            || limits.event_streams == 0
            || limits.event_streams_per_client == 0
        {
            return Err(Error::Config(
                "limits: the timeouts must be 1-3600 s, event_streams and \
                 event_streams_per_client at least 1"
                    .to_owned(),
            ));
        }
        let yp = &self.yp;
        if !(1..=86_400).contains(&yp.touch_freq)
            || !(1..=1000).contains(&yp.missed_touches)
            || yp.end_grace > 86_400
        {
            return Err(Error::Config(
                "yp.touch_freq must be 1-86400, yp.missed_touches 1-1000, yp.end_grace at most 86400".to_owned(),
            ));
        }
        if yp.touch_freq * yp.missed_touches <= ICECAST_MIN_TOUCH_FREQ {
            // Icecast never touches more often than every 30 s, whatever it is told.
            tracing::warn!(
                limit_seconds = yp.touch_freq * yp.missed_touches,
                "yp.touch_freq × yp.missed_touches is not above Icecast's 30 s touch interval: \
                 listings will be reaped between touches"
            );
        }
        let catalog = &mut self.catalog;
        if !(10..=86_400).contains(&catalog.refresh_after) || catalog.hide_after > 7 * 86_400 {
            return Err(Error::Config(
                "catalog.refresh_after must be 10-86400, catalog.hide_after at most 604800"
                    .to_owned(),
            ));
        }
        for d in &mut catalog.allowed_domains {
            *d = d.trim().to_ascii_lowercase();
        }
        let delivery = &self.delivery;
        if !(1..=4096).contains(&delivery.concurrency)
            || !(1..=delivery.concurrency).contains(&delivery.per_host)
            || !(1..=120).contains(&delivery.timeout)
            || !(1..=delivery.timeout).contains(&delivery.connect_timeout)
            || !(1..=3650).contains(&delivery.retention_days)
        {
            return Err(Error::Config(
                "delivery.concurrency must be 1-4096, delivery.per_host 1 to the concurrency, \
                 delivery.timeout 1-120, delivery.connect_timeout 1 to the timeout, \
                 delivery.retention_days 1-3650"
                    .to_owned(),
            ));
        }
        if self.database_url.trim().is_empty() {
            return Err(Error::Config("database_url must not be empty".to_owned()));
        }
        Ok(())
    }
}

fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e| Error::Config(format!("{key}={value:?}: {e}")))
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(Error::Config(format!(
            "{key}={value:?}: expected true or false"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::Config;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_need_no_file_and_no_environment() {
        let c = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(c.url.as_str(), "http://localhost:8080/");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "onair.db");
        assert_eq!(
            (c.yp.touch_freq, c.yp.end_grace, c.yp.missed_touches),
            (30, 90, 3)
        );
        assert_eq!(c.max_streams_per_user, 20);
        assert!(!c.allow_private_networks);
    }

    #[test]
    fn environment_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onair.toml");
        std::fs::write(
            &path,
            "url = \"https://radio.example/base\"\n[yp]\ntouch_freq = 60\nend_grace = 5\n",
        )
        .unwrap();
        let c = Config::load_from(
            Some(&path),
            env(&[
                ("ONAIR_YP_TOUCH_FREQ", "2"),
                ("ONAIR_ALLOW_PRIVATE_NETWORKS", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(c.url.as_str(), "https://radio.example/base/");
        assert_eq!((c.yp.touch_freq, c.yp.end_grace), (2, 5));
        assert!(c.allow_private_networks);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let err = Config::load_from(None, env(&[("ONAIR_YP_END_GRACE", "soon")])).unwrap_err();
        assert!(err.to_string().contains("ONAIR_YP_END_GRACE"), "{err}");
        let err = Config::load_from(None, env(&[("ONAIR_URL", "ftp://x")])).unwrap_err();
        assert!(err.to_string().contains("http(s)"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onair.toml");
        std::fs::write(&path, "binds = \"0.0.0.0:80\"\n").unwrap();
        assert!(
            Config::load_from(Some(&path), env(&[]))
                .unwrap_err()
                .to_string()
                .contains("binds")
        );
    }

    #[test]
    fn the_example_file_lists_every_default() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        let example = Config::load_from(Some(&path), env(&[])).unwrap();
        assert_eq!(
            format!("{example:?}"),
            format!("{:?}", Config::load_from(None, env(&[])).unwrap())
        );
        let text = std::fs::read_to_string(&path).unwrap();
        for var in [
            "ONAIR_URL",
            "ONAIR_BIND",
            "ONAIR_DATABASE_URL",
            "ONAIR_ALLOW_PRIVATE_NETWORKS",
            "ONAIR_YP_TOUCH_FREQ",
            "ONAIR_YP_END_GRACE",
            "ONAIR_YP_MISSED_TOUCHES",
            "ONAIR_MAX_STREAMS_PER_USER",
            "ONAIR_WORKERS",
            "ONAIR_DATABASE_POOL_SIZE",
            "ONAIR_UPDATE_INTERVAL",
            "ONAIR_TRUSTED_PROXIES",
            "ONAIR_FORWARDED_HEADER",
            "ONAIR_TLS_CA_FILE",
        ] {
            assert!(text.contains(var), "{var} is not documented");
        }
    }

    #[test]
    fn proxies_parse_from_file_and_environment() {
        let c = Config::load_from(
            None,
            env(&[("ONAIR_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")]),
        )
        .unwrap();
        assert!(!c.trusted_proxies.is_empty());
        let err = Config::load_from(None, env(&[("ONAIR_TRUSTED_PROXIES", "proxy")])).unwrap_err();
        assert!(err.to_string().contains("ONAIR_TRUSTED_PROXIES"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onair.toml");
        std::fs::write(&path, "trusted_proxies = [\"10.0.0.0/40\"]\n").unwrap();
        assert!(Config::load_from(Some(&path), env(&[])).is_err());
    }

    #[test]
    fn debug_hides_the_database_password() {
        let c = Config::load_from(
            None,
            env(&[("ONAIR_DATABASE_URL", "postgres://u:secret@db/onair")]),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("secret"));
    }
}
