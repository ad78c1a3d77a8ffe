//! One file per table: the row type and its queries together.

mod activity;
mod broadcast;
mod delivery;
mod follower;
mod instance_keys;
mod received_activity;
mod remote_actor;
mod stream;
mod stream_keys;
mod user;
mod yp_token;

pub use activity::{Activity, NewActivity};
pub use broadcast::{Broadcast, BroadcastState, TouchUpdate};
pub use delivery::{Delivery, DeliveryState};
pub use follower::Follower;
pub use instance_keys::InstanceKeys;
pub use received_activity::ReceivedActivity;
pub use remote_actor::RemoteActorRow;
pub use stream::{NewStream, OnEnd, Stream, StreamFilter, StreamProfile};
pub use stream_keys::StreamKeys;
pub use user::User;
pub use yp_token::{TokenOwner, YpToken};
