//! The one place that mints the URLs we publish. Nothing else formats our own URLs.

use url::Url;

/// Builds URLs under the configured public base URL.
#[derive(Clone, Debug)]
pub struct Urls {
    base: Url,
}

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

    /// The stream's page (and, later, its ActivityPub actor).
    pub fn stream(&self, handle: &str) -> Url {
        self.join(&format!("streams/{handle}"))
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
}
