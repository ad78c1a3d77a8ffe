//! HTTP only: extract, call the domain or the database, answer. The whole route table is here.

mod actor;
mod admin;
mod admin_pages;
mod api;
mod assets;
mod client;
mod cors;
mod dashboard;
mod embed;
mod events;
mod exports;
mod filters;
pub mod guard;
mod health;
pub mod html_errors;
mod inbox;
pub mod pages;
mod reminders;
mod session;
mod shows;
mod well_known;
mod yp;

use actix_web::{HttpRequest, HttpResponse, http::header, middleware::from_fn, web};

use crate::error::Error;

/// Every route the service answers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The YP endpoint by its static prefix: a `{token}` pattern is a regex match on every touch
    // (an eighth of the HTTP side's CPU); yp::entry reads the token from the rest of the path.
    cfg.service(web::scope("/api/icecast/yp").default_service(web::to(yp::entry)))
        .service(
            web::scope("/api/v1/admin")
                .app_data(
                    web::JsonConfig::default()
                        .limit(4096)
                        .error_handler(|e, _| Error::Invalid(e.to_string()).into()),
                )
                .service(
                    web::resource("/remote")
                        .route(web::get().to(admin::list_remote))
                        .route(web::post().to(admin::follow))
                        .route(web::delete().to(admin::unfollow)),
                )
                .service(
                    web::resource("/relays")
                        .route(web::get().to(admin::list_relays))
                        .route(web::post().to(admin::add_relay))
                        .route(web::delete().to(admin::remove_relay)),
                )
                .service(
                    web::resource("/blocks")
                        .route(web::get().to(admin::list_blocks))
                        .route(web::post().to(admin::add_block))
                        .route(web::delete().to(admin::remove_block)),
                ),
        )
        // Shows: the list is public (rated, readable by other sites); writes need the
        // broadcaster's credentials. One scope, as a matched scope does not fall through.
        .service(
            web::scope("/api/v1/shows")
                .app_data(web::PayloadConfig::new(16 * 1024))
                .wrap(from_fn(guard::public))
                .wrap(from_fn(cors::anyone_may_read))
                .route("", web::get().to(shows::api_list))
                .route("", web::post().to(shows::api_create))
                .route("/{id}", web::put().to(shows::api_edit))
                .route("/{id}", web::delete().to(shows::api_cancel)),
        )
        .route("/login", web::get().to(session::login_form))
        .route("/login", web::post().to(session::login))
        .route("/logout", web::post().to(session::logout))
        .route("/dashboard", web::get().to(dashboard::dashboard))
        .route("/dashboard/tokens", web::post().to(dashboard::create_token))
        .route(
            "/dashboard/tokens/{id}",
            web::get().to(dashboard::token_status),
        )
        .route(
            "/dashboard/tokens/{id}/revoke",
            web::post().to(dashboard::revoke_token),
        )
        .route(
            "/dashboard/streams/{handle}/settings",
            web::post().to(dashboard::stream_settings),
        )
        .route(
            "/dashboard/streams/{handle}/followers",
            web::post().to(dashboard::decide_follower),
        )
        .route(
            "/dashboard/streams/{handle}/shows",
            web::post().to(dashboard::schedule_show),
        )
        .route(
            "/dashboard/shows/{id}/cancel",
            web::post().to(dashboard::cancel_show),
        )
        .route("/admin", web::get().to(admin_pages::page))
        .route(
            "/authorize_interaction",
            web::get().to(admin_pages::authorize_interaction),
        )
        .route("/admin/users", web::post().to(admin_pages::create_user))
        .route(
            "/admin/users/disable",
            web::post().to(admin_pages::disable_user),
        )
        .route("/admin/queue", web::post().to(admin_pages::queue))
        .route("/admin/remote", web::post().to(admin_pages::follow_remote))
        .route(
            "/admin/remote/remove",
            web::post().to(admin_pages::unfollow_remote),
        )
        .route("/admin/relays", web::post().to(admin_pages::add_relay))
        .route(
            "/admin/relays/remove",
            web::post().to(admin_pages::remove_relay),
        )
        .route("/admin/blocks", web::post().to(admin_pages::add_block))
        .route(
            "/admin/blocks/remove",
            web::post().to(admin_pages::remove_block),
        )
        .route("/assets/style.css", web::get().to(assets::style))
        .route("/assets/app.js", web::get().to(assets::script))
        .route("/assets/icon.png", web::get().to(assets::icon))
        .route("/favicon.ico", web::get().to(assets::icon))
        .route("/assets/card.png", web::get().to(assets::card))
        .service(
            web::resource(["/inbox", "/streams/{handle}/inbox"])
                .app_data(web::PayloadConfig::new(inbox::MAX_BODY))
                .wrap(from_fn(guard::inbox))
                .route(web::post().to(inbox::post_inbox)),
        )
        .route("/healthz", web::get().to(health::healthz))
        .route("/metrics", web::get().to(health::metrics))
        .service(public_routes())
        .default_service(web::to(not_found));
}

/// The public routes that cost work, under the per-client rate (`limits.public_rate`). An empty
/// scope matches every path, so it comes last: what it does not route gets the 404.
fn public_routes() -> impl actix_web::dev::HttpServiceFactory {
    web::scope("")
        .wrap(from_fn(guard::public))
        .wrap(from_fn(cors::anyone_may_read))
        .route("/", web::get().to(pages::home))
        .route("/yp.xml", web::get().to(exports::yp_xml))
        .route(
            "/streams/{handle:[a-z0-9_]+}.{ext:m3u|xspf}",
            web::get().to(exports::playlist),
        )
        .route("/streams/{handle}/events", web::get().to(events::events))
        .route("/streams/{handle}/follow", web::get().to(pages::follow))
        .route("/streams/{handle}/embed", web::get().to(embed::embed))
        .route(
            "/streams/{handle}/shows.ics",
            web::get().to(shows::stream_calendar),
        )
        .route("/shows.ics", web::get().to(shows::instance_calendar))
        .route("/shows/{id}", web::get().to(shows::show))
        .route(
            "/shows/{id}/reminders/{start}",
            web::get().to(reminders::reminder),
        )
        .route("/oembed", web::get().to(embed::oembed))
        .route("/tags/{tag}", web::get().to(pages::tag))
        .route("/api/v1/streams", web::get().to(api::list_streams))
        .route("/api/v1/streams/{handle}", web::get().to(api::show_stream))
        .route("/streams/{handle}", web::get().to(actor::show_stream))
        .route(
            "/streams/{handle}/followers",
            web::get().to(actor::followers),
        )
        .route("/streams/{handle}/outbox", web::get().to(actor::outbox))
        .route("/actor", web::get().to(actor::instance_actor))
        .route("/broadcasts/{id}", web::get().to(actor::show_broadcast))
        .route("/activities/{id}", web::get().to(actor::show_activity))
        .route(
            "/.well-known/webfinger",
            web::get().to(well_known::webfinger),
        )
        .route(
            "/.well-known/host-meta",
            web::get().to(well_known::host_meta),
        )
        .route(
            "/.well-known/nodeinfo",
            web::get().to(well_known::nodeinfo_links),
        )
        .route("/nodeinfo/2.1", web::get().to(well_known::nodeinfo))
}

/// What no route serves: the one error answer (a page for browsers, JSON for the rest).
async fn not_found() -> HttpResponse {
    use actix_web::ResponseError;
    Error::NotFound("page".to_owned()).error_response()
}

/// The request's `Accept` header; empty when it is absent or not visible ASCII.
fn accept(req: &HttpRequest) -> &str {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
