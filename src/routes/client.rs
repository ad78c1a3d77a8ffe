//! The client behind a request: the connection's peer, or what a trusted proxy says it
//! forwarded (`trusted_proxies`; see [`crate::proxies`]).

use std::net::{IpAddr, Ipv4Addr};

use actix_web::HttpRequest;

use crate::{
    proxies::{Client, Forwarding},
    state::AppState,
};

/// The client of `req` as far as onair can tell.
pub fn of(req: &HttpRequest, state: &AppState) -> Client {
    let headers = req.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // No peer address only happens in unit-test requests; count those as one unknown client.
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    state.config.trusted_proxies.client(
        peer,
        Forwarding {
            forwarded: text("forwarded"),
            x_forwarded_for: text("x-forwarded-for"),
            x_forwarded_proto: text("x-forwarded-proto"),
        },
    )
}
