//! One file per table: the row type and its queries together.

mod activity;
mod block;
mod broadcast;
mod delivery;
mod follower;
mod host_breaker;
mod instance_keys;
mod received_activity;
mod remote_actor;
mod remote_broadcast;
mod remote_show;
mod remote_stream;
mod session;
mod show;
mod show_reminder;
mod signin_failure;
mod stored_text;
mod stream;
mod stream_filter;
mod stream_keys;
mod subscription;
mod user;
mod yp_token;

pub use activity::{Activity, NewActivity};
pub use block::{Block, BlockKind};
pub use broadcast::{Broadcast, BroadcastState, TouchRow, TouchUpdate, TouchedBroadcast};
pub use delivery::{Claim, Delivery, DeliveryState, Finish};
pub use follower::{Follower, FollowerState};
pub use host_breaker::HostBreaker;
pub use instance_keys::InstanceKeys;
pub use received_activity::ReceivedActivity;
pub use remote_actor::RemoteActorRow;
pub use remote_broadcast::{NewRemoteBroadcast, RemoteBroadcast};
pub use remote_show::{NewRemoteShow, RemoteShow};
pub use remote_stream::{RemoteStream, RemoteStreamProfile};
pub use session::Session;
pub use show::{NewShow, Show};
pub use show_reminder::ShowReminder;
pub use signin_failure::SigninFailures;
use stored_text::stored_text;
pub use stream::{NewStream, OnEnd, PostStyle, Stream, StreamProfile};
pub use stream_filter::StreamFilter;
pub use stream_keys::StreamKeys;
pub use subscription::{Subscription, SubscriptionKind, SubscriptionState};
pub use user::User;
pub use yp_token::{TokenOwner, YpExchange, YpToken};

use diesel::sql_types::{Nullable, Text};

diesel::define_sql_function! {
    /// SQL `lower()`, the same in SQLite and PostgreSQL for our purposes.
    fn lower(x: Nullable<Text>) -> Nullable<Text>;
}

/// Escapes `\`, `%` and `_` for a LIKE pattern with `ESCAPE '\'`.
pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
