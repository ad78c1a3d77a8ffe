//! The one place that mints the URLs we publish. Nothing else formats our own URLs.

use url::Url;

/// Builds URLs under the configured public base URL.
#[derive(Clone, Debug)]
pub struct Urls {
    base: Url,
}

/// How a reminder's URL writes its occurrence's start (UTC).
pub const REMINDER_AT: &str = "%Y%m%dT%H%MZ";

impl Urls {
    /// `base` must end with a slash (config validation guarantees it).
    pub fn new(base: Url) -> Self {
        Self { base }
    }

    fn join(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let full = format!("{}{}", self.base.path(), path);
        url.set_path(&full);
        url
    }

    /// The base URL itself.
    pub fn home(&self) -> Url {
        self.base.clone()
    }

    /// The YP directory URL Icecast posts to; the token is the broadcaster's secret.
    pub fn yp(&self, token: &str) -> Url {
        self.join(&format!("api/icecast/yp/{token}"))
    }

    /// The public JSON description of one local stream.
    pub fn api_stream(&self, handle: &str) -> Url {
        self.join(&format!("api/v1/streams/{handle}"))
    }

    /// The stream's actor id, which is also its HTML page.
    pub fn stream(&self, handle: &str) -> Url {
        self.join(&format!("streams/{handle}"))
    }

    /// The id of a stream actor's key (`publicKey.id`).
    pub fn stream_key(&self, handle: &str) -> Url {
        let mut url = self.stream(handle);
        url.set_fragment(Some("main-key"));
        url
    }

    /// A stream actor's inbox.
    pub fn stream_inbox(&self, handle: &str) -> Url {
        self.join(&format!("streams/{handle}/inbox"))
    }

    /// A stream actor's outbox.
    pub fn stream_outbox(&self, handle: &str) -> Url {
        self.join(&format!("streams/{handle}/outbox"))
    }

    /// One page of a stream's outbox: the newest broadcasts, or those older than `before`.
    pub fn stream_outbox_page(&self, handle: &str, before: Option<i64>) -> Url {
        let mut url = self.stream_outbox(handle);
        url.query_pairs_mut().append_pair("page", "true");
        if let Some(id) = before {
            url.query_pairs_mut().append_pair("before", &id.to_string());
        }
        url
    }

    /// The `Create` of a broadcast as its stream's outbox lists it.
    pub fn broadcast_create(&self, id: i64) -> Url {
        let mut url = self.broadcast(id);
        url.set_fragment(Some("create"));
        url
    }

    /// A stream's playlist: `m3u` or `xspf`.
    pub fn stream_playlist(&self, handle: &str, ext: &str) -> Url {
        self.join(&format!("streams/{handle}.{ext}"))
    }

    /// A stream page's Server-Sent Events (title changes).
    pub fn stream_events(&self, handle: &str) -> Url {
        self.join(&format!("streams/{handle}/events"))
    }

    /// Where a stream page's "follow from your server" form goes.
    pub fn stream_follow(&self, handle: &str) -> Url {
        self.join(&format!("streams/{handle}/follow"))
    }

    /// A stream actor's followers collection.
    pub fn stream_followers(&self, handle: &str) -> Url {
        self.join(&format!("streams/{handle}/followers"))
    }

    /// A stream's player alone, for other sites' frames.
    pub fn stream_embed(&self, handle: &str) -> Url {
        self.join(&format!("streams/{handle}/embed"))
    }

    /// The oEmbed description of one of our pages (`url`), as a stream page advertises it.
    pub fn oembed(&self, page: &Url) -> Url {
        let mut url = self.join("oembed");
        url.query_pairs_mut()
            .append_pair("url", page.as_str())
            .append_pair("format", "json");
        url
    }

    /// Where someone of this instance follows a remote account (`{uri}`: its address): the
    /// subscribe template our WebFinger advertises (OStatus's rel, which Mastodon reads too).
    pub fn subscribe_template(&self) -> String {
        format!("{}?uri={{uri}}", self.authorize_interaction())
    }

    /// The page behind [`Urls::subscribe_template`].
    pub fn authorize_interaction(&self) -> Url {
        self.join("authorize_interaction")
    }

    /// A scheduled show: its Event (ActivityPub) and its page.
    pub fn show(&self, id: i64) -> Url {
        self.join(&format!("shows/{id}"))
    }

    /// The reminder post of a show's occurrence starting at `start`.
    pub fn show_reminder(&self, id: i64, start: chrono::DateTime<chrono::Utc>) -> Url {
        self.join(&format!(
            "shows/{id}/reminders/{}",
            start.format(REMINDER_AT)
        ))
    }

    /// A stream's shows as an iCalendar feed.
    pub fn stream_calendar(&self, handle: &str) -> Url {
        self.join(&format!("streams/{handle}/shows.ics"))
    }

    /// Every show here as an iCalendar feed.
    pub fn calendar(&self) -> Url {
        self.join("shows.ics")
    }

    /// The JSON list of shows, and where the broadcaster's client posts new ones.
    pub fn api_shows(&self) -> Url {
        self.join("api/v1/shows")
    }

    /// A broadcast's Note.
    pub fn broadcast(&self, id: i64) -> Url {
        self.join(&format!("broadcasts/{id}"))
    }

    /// A genre hashtag's page.
    pub fn tag(&self, tag: &str) -> Url {
        self.join(&format!("tags/{tag}"))
    }

    /// The id of an activity we send.
    pub fn activity(&self, id: &str) -> Url {
        self.join(&format!("activities/{id}"))
    }

    /// The shared inbox of every actor here.
    pub fn shared_inbox(&self) -> Url {
        self.join("inbox")
    }

    /// The instance actor (signs fetches, follows remote streams).
    pub fn instance_actor(&self) -> Url {
        self.join("actor")
    }

    /// The instance actor's key id.
    pub fn instance_key(&self) -> Url {
        let mut url = self.instance_actor();
        url.set_fragment(Some("main-key"));
        url
    }

    /// WebFinger, as a template for host-meta (`{uri}` is left for the client to fill).
    pub fn webfinger_template(&self) -> String {
        format!("{}?resource={{uri}}", self.webfinger())
    }

    /// NodeInfo 2.1.
    pub fn nodeinfo(&self) -> Url {
        self.join("nodeinfo/2.1")
    }

    /// `host[:port]` as it appears in `acct:` URIs.
    pub fn authority(&self) -> String {
        match (self.base.host_str(), self.base.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        }
    }

    /// The `Host` values a request made for this instance may carry: the authority, and with a
    /// default port also the same with the port written out (`radio.example:443`), which some
    /// senders sign.
    pub fn host_forms(&self) -> Vec<String> {
        let mut forms = vec![self.authority()];
        if let (None, Some(port)) = (self.base.port(), self.base.port_or_known_default()) {
            forms.push(format!("{}:{port}", forms[0]));
        }
        forms
    }

    /// The handle of a local stream actor URL, if `url` is one.
    pub fn handle_of(&self, url: &Url) -> Option<String> {
        let prefix = self.stream("");
        let rest = url.as_str().strip_prefix(prefix.as_str())?;
        (!rest.is_empty() && !rest.contains(['/', '?', '#'])).then(|| rest.to_owned())
    }
}

/// The pages and forms of people signing in: the dashboard and the admin pages, and what every
/// page links to. Handlers redirect to these and templates get them from their views, so a base
/// URL with a path (`https://radio.example/onair/`) works throughout.
impl Urls {
    /// `acct:handle@host`, the WebFinger subject of a local actor.
    pub fn acct(&self, handle: &str) -> String {
        format!("acct:{handle}@{}", self.authority())
    }

    /// `@handle@host`, how people find a local stream from their server.
    pub fn mention(&self, handle: &str) -> String {
        format!("@{handle}@{}", self.authority())
    }

    /// The home page filtered to one genre.
    pub fn home_genre(&self, genre: &str) -> Url {
        let mut url = self.home();
        url.query_pairs_mut().append_pair("genre", genre);
        url
    }

    /// The public JSON list of streams.
    pub fn api_streams(&self) -> Url {
        self.join("api/v1/streams")
    }

    /// The YP directory export.
    pub fn yp_xml(&self) -> Url {
        self.join("yp.xml")
    }

    /// The stylesheet every page loads.
    pub fn style(&self) -> Url {
        self.join("assets/style.css")
    }

    /// A stream's picture when its broadcaster set none (square).
    pub fn default_icon(&self) -> Url {
        self.join("assets/icon.png")
    }

    /// The preview card's image when a stream has no picture (1200 × 630).
    pub fn card_image(&self) -> Url {
        self.join("assets/card.png")
    }

    /// The script every page loads.
    pub fn script(&self) -> Url {
        self.join("assets/app.js")
    }

    /// The sign-in form.
    pub fn login(&self) -> Url {
        self.join("login")
    }

    /// The sign-in form, going on to `path` (one of our pages) once signed in.
    pub fn login_then(&self, path: &str) -> Url {
        let mut url = self.login();
        url.query_pairs_mut().append_pair("next", path);
        url
    }

    /// Where signing out posts.
    pub fn logout(&self) -> Url {
        self.join("logout")
    }

    /// The broadcaster's dashboard.
    pub fn dashboard(&self) -> Url {
        self.join("dashboard")
    }

    /// Where a new YP URL is asked for.
    pub fn dashboard_tokens(&self) -> Url {
        self.join("dashboard/tokens")
    }

    /// What Icecast last did with one of the broadcaster's YP URLs (JSON).
    pub fn dashboard_token(&self, id: i64) -> Url {
        self.join(&format!("dashboard/tokens/{id}"))
    }

    /// Where a stream's broadcaster schedules a show.
    pub fn dashboard_stream_shows(&self, handle: &str) -> Url {
        self.join(&format!("dashboard/streams/{handle}/shows"))
    }

    /// Where a broadcaster cancels a show.
    pub fn dashboard_show_cancel(&self, id: i64) -> Url {
        self.join(&format!("dashboard/shows/{id}/cancel"))
    }

    /// Where one YP URL is revoked.
    pub fn dashboard_token_revoke(&self, id: i64) -> Url {
        self.join(&format!("dashboard/tokens/{id}/revoke"))
    }

    /// Where a stream's settings form posts.
    pub fn dashboard_stream_settings(&self, handle: &str) -> Url {
        self.join(&format!("dashboard/streams/{handle}/settings"))
    }

    /// Where a follower of a stream is approved or rejected.
    pub fn dashboard_stream_followers(&self, handle: &str) -> Url {
        self.join(&format!("dashboard/streams/{handle}/followers"))
    }

    /// The admin page.
    pub fn admin(&self) -> Url {
        self.join("admin")
    }

    /// Where the admin page creates an account.
    pub fn admin_users(&self) -> Url {
        self.join("admin/users")
    }

    /// Where the admin page disables an account.
    pub fn admin_users_disable(&self) -> Url {
        self.join("admin/users/disable")
    }

    /// Where the admin page retries or purges deliveries.
    pub fn admin_queue(&self) -> Url {
        self.join("admin/queue")
    }

    /// Where the admin page follows a remote stream.
    pub fn admin_remote(&self) -> Url {
        self.join("admin/remote")
    }

    /// Where the admin page unfollows one.
    pub fn admin_remote_remove(&self) -> Url {
        self.join("admin/remote/remove")
    }

    /// Where the admin page subscribes to a relay.
    pub fn admin_relays(&self) -> Url {
        self.join("admin/relays")
    }

    /// Where the admin page unsubscribes.
    pub fn admin_relays_remove(&self) -> Url {
        self.join("admin/relays/remove")
    }

    /// Where the admin page blocks.
    pub fn admin_blocks(&self) -> Url {
        self.join("admin/blocks")
    }

    /// Where the admin page lifts a block.
    pub fn admin_blocks_remove(&self) -> Url {
        self.join("admin/blocks/remove")
    }

    /// The admin JSON API under `/api/v1/admin/` (`remote`, `relays`, `blocks`).
    pub fn admin_api(&self, what: &str) -> Url {
        self.join(&format!("api/v1/admin/{what}"))
    }

    /// The WebFinger endpoint.
    pub fn webfinger(&self) -> Url {
        self.join(".well-known/webfinger")
    }

    /// The host-meta document.
    pub fn host_meta(&self) -> Url {
        self.join(".well-known/host-meta")
    }

    /// The NodeInfo discovery document.
    pub fn nodeinfo_links(&self) -> Url {
        self.join(".well-known/nodeinfo")
    }

    /// The health check.
    pub fn healthz(&self) -> Url {
        self.join("healthz")
    }

    /// The Prometheus metrics.
    pub fn metrics(&self) -> Url {
        self.join("metrics")
    }
}

#[cfg(test)]
mod tests {
    use super::Urls;

    #[test]
    fn urls_keep_the_base_path() {
        let urls = Urls::new("https://radio.example/onair/".parse().unwrap());
        assert_eq!(
            urls.yp("abc").as_str(),
            "https://radio.example/onair/api/icecast/yp/abc"
        );
        assert_eq!(
            urls.stream("jazz_fm").as_str(),
            "https://radio.example/onair/streams/jazz_fm"
        );
        let root = Urls::new("http://localhost:8080/".parse().unwrap());
        assert_eq!(
            root.api_stream("x").as_str(),
            "http://localhost:8080/api/v1/streams/x"
        );
    }

    #[test]
    fn host_forms_write_a_default_port_both_ways() {
        let forms = |base: &str| Urls::new(base.parse().unwrap()).host_forms();
        assert_eq!(
            forms("https://radio.example/"),
            ["radio.example", "radio.example:443"]
        );
        assert_eq!(
            forms("http://radio.example/"),
            ["radio.example", "radio.example:80"]
        );
        assert_eq!(forms("https://radio.example:8443/"), ["radio.example:8443"]);
    }
}
