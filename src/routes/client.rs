//! The client behind a request: the connection's peer, or what a trusted proxy says it
//! forwarded (`trusted_proxies`, `forwarded_header`; see [`crate::proxies`]).

use std::net::{IpAddr, Ipv4Addr};

use actix_web::HttpRequest;

use crate::state::AppState;

/// The client address of `req` as far as onair can tell.
pub fn of(req: &HttpRequest, state: &AppState) -> IpAddr {
    let config = &state.config;
    // No peer address only happens in unit-test requests; count those as one unknown client.
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let header = config.forwarded_header;
    // Every line of the header, in order: some proxies add a line rather than append to one.
    let lines: Vec<&str> = req
        .headers()
        .get_all(header.name())
        .filter_map(|v| v.to_str().ok())
        .collect();
    let chain = (!lines.is_empty()).then(|| lines.join(", "));
    config
        .trusted_proxies
        .client(peer, header, chain.as_deref())
}
