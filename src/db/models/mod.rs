//! One file per table: the row type and its queries together.

mod broadcast;
mod stream;
mod user;
mod yp_token;

pub use broadcast::{Broadcast, BroadcastState, TouchUpdate};
pub use stream::{NewStream, Stream, StreamFilter, StreamProfile};
pub use user::User;
pub use yp_token::{TokenOwner, YpToken};
