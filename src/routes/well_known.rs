//! Discovery: WebFinger, host-meta and NodeInfo.

use actix_web::{HttpResponse, web};
use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::{
    db::models::{Broadcast, Stream},
    error::{Error, Result},
    state::AppState,
    urls::Urls,
};

/// `?resource=` as sent.
#[derive(Debug, Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

/// Who a WebFinger resource names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Stream(String),
    Instance,
}

/// `GET /.well-known/webfinger?resource=acct:handle@host` (or the actor URL): 400 for a resource
/// that is neither, 404 for one that is not ours or does not exist.
pub async fn webfinger(
    state: web::Data<AppState>,
    query: web::Query<WebfingerQuery>,
) -> Result<HttpResponse> {
    let resource = query.into_inner().resource.unwrap_or_default();
    let urls = &state.urls;
    let (subject, actor, instance) = match parse_resource(resource.trim(), urls)? {
        Target::Instance => (urls.acct(&instance_name(urls)), urls.instance_actor(), true),
        Target::Stream(handle) => {
            let (stream, _) = crate::streams::find(&state.db, &handle).await?;
            (
                urls.acct(&stream.handle),
                urls.stream(&stream.handle),
                false,
            )
        }
    };
    let mut links = vec![
        json!({ "rel": "self", "type": "application/activity+json", "href": actor }),
        json!({ "rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": actor }),
    ];
    if instance {
        // The reverse of "follow from your server": the instance actor is who follows remote
        // streams here, so its account says where to send a follow of one.
        links.push(json!({
            "rel": "http://ostatus.org/schema/1.0/subscribe",
            "template": urls.subscribe_template(),
        }));
    }
    let body = json!({ "subject": subject, "aliases": [actor], "links": links });
    Ok(HttpResponse::Ok()
        .content_type("application/jrd+json; charset=utf-8")
        .json(body))
}

fn instance_name(urls: &Urls) -> String {
    urls.home().host_str().unwrap_or("onair").to_owned()
}

fn parse_resource(resource: &str, urls: &Urls) -> Result<Target> {
    let malformed = || {
        Error::Invalid("resource must be acct:handle@host or the URL of an actor here".to_owned())
    };
    if let Some(acct) = resource.strip_prefix("acct:") {
        let (name, host) = acct
            .trim_start_matches('@')
            .rsplit_once('@')
            .ok_or_else(malformed)?;
        if name.is_empty() || host.is_empty() {
            return Err(malformed());
        }
        if !host.eq_ignore_ascii_case(&urls.authority()) {
            return Err(Error::NotFound(format!("{host} is not this instance")));
        }
        let name = name.to_ascii_lowercase();
        return Ok(if name == instance_name(urls) {
            Target::Instance
        } else {
            Target::Stream(name)
        });
    }
    let url = Url::parse(resource).map_err(|_| malformed())?;
    if !matches!(url.scheme(), "http" | "https") {
        // A URI of another kind (mailto:, xmpp:…) is a fine question with no answer here:
        // RFC 7033 §4.2 wants 404 for it, not 400.
        return Err(Error::NotFound(format!(
            "{} resources are not kept here",
            url.scheme()
        )));
    }
    if url == urls.instance_actor() {
        return Ok(Target::Instance);
    }
    urls.handle_of(&url)
        .map(Target::Stream)
        .ok_or_else(|| Error::NotFound(format!("{url} is not an actor here")))
}

/// `GET /.well-known/host-meta`: where WebFinger lives (some older software asks first).
pub async fn host_meta(state: web::Data<AppState>) -> HttpResponse {
    let template =
        html_escape::encode_double_quoted_attribute(&state.urls.webfinger_template()).into_owned();
    HttpResponse::Ok().content_type("application/xrd+xml; charset=utf-8").body(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" type=\"application/jrd+json\" template=\"{template}\"/>\n</XRD>\n"
    ))
}

/// `GET /.well-known/nodeinfo`
pub async fn nodeinfo_links(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "links": [{ "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": state.urls.nodeinfo() }]
    }))
}

/// `GET /nodeinfo/2.1`: software, protocols and usage. Users are stream actors; posts are
/// broadcasts.
pub async fn nodeinfo(state: web::Data<AppState>) -> Result<HttpResponse> {
    let now = state.clock.now();
    let (month, half_year) = (now - TimeDelta::days(30), now - TimeDelta::days(180));
    let (total, active_month, active_half_year, posts) = state
        .db
        .read(move |c| {
            Ok((
                Stream::count(c)?,
                Broadcast::count_streams_since(c, month)?,
                Broadcast::count_streams_since(c, half_year)?,
                Broadcast::count(c)?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(r#"application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"; charset=utf-8"#)
        .json(json!({
            "version": "2.1",
            "software": { "name": "onair", "version": env!("CARGO_PKG_VERSION") },
            "protocols": ["activitypub"],
            "services": { "inbound": [], "outbound": [] },
            "openRegistrations": false,
            "usage": {
                "users": { "total": total, "activeMonth": active_month, "activeHalfyear": active_half_year },
                "localPosts": posts,
            },
            "metadata": {},
        })))
}

#[cfg(test)]
mod tests {
    use super::{Target, parse_resource};
    use crate::urls::Urls;

    #[test]
    fn resources() {
        let urls = Urls::new("http://localhost:8080/".parse().unwrap());
        let stream = |h: &str| Ok::<_, ()>(Target::Stream(h.to_owned()));
        assert_eq!(
            parse_resource("acct:jazz@localhost:8080", &urls).map_err(|_| ()),
            stream("jazz")
        );
        assert_eq!(
            parse_resource("acct:@Jazz@LOCALHOST:8080", &urls).map_err(|_| ()),
            stream("jazz")
        );
        assert_eq!(
            parse_resource("http://localhost:8080/streams/jazz", &urls).map_err(|_| ()),
            stream("jazz")
        );
        assert_eq!(
            parse_resource("acct:localhost@localhost:8080", &urls).map_err(|_| ()),
            Ok(Target::Instance)
        );
        assert_eq!(
            parse_resource("http://localhost:8080/actor", &urls).map_err(|_| ()),
            Ok(Target::Instance)
        );
        for (bad, status) in [
            ("", 400),
            ("jazz", 400),
            ("acct:jazz", 400),
            ("acct:@localhost:8080", 400),
            ("acct:jazz@elsewhere.example", 404),
            ("http://elsewhere.example/streams/jazz", 404),
            ("http://localhost:8080/streams/jazz/inbox", 404),
            ("mailto:jazz@localhost:8080", 404),
            ("xmpp:jazz@localhost", 404),
        ] {
            let err = parse_resource(bad, &urls).unwrap_err();
            assert_eq!(
                actix_web::ResponseError::status_code(&err).as_u16(),
                status,
                "{bad}"
            );
        }
    }
}
