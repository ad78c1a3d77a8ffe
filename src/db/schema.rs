//! Table definitions shared by both backends (kept by hand in step with `migrations/`).

diesel::table! {
    users (id) {
        id -> BigInt,
        name -> Text,
        password_hash -> Text,
        is_admin -> Bool,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    yp_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        label -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_request_at -> Nullable<Timestamp>,
        last_action -> Nullable<Text>,
        last_ok -> Nullable<Bool>,
        last_message -> Nullable<Text>,
        refused_at -> Nullable<Timestamp>,
        refused_action -> Nullable<Text>,
        refused_message -> Nullable<Text>,
    }
}

diesel::table! {
    streams (id) {
        id -> BigInt,
        owner_id -> BigInt,
        handle -> Text,
        listen_url -> Text,
        name -> Text,
        description -> Text,
        genres -> Text,
        homepage -> Text,
        content_type -> Text,
        codec -> Text,
        bitrate -> Nullable<Integer>,
        samplerate -> Nullable<Integer>,
        channels -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        approve_followers -> Bool,
        on_end -> Text,
        https_listen_url -> Nullable<Text>,
        display_name -> Text,
        display_description -> Text,
        icon_url -> Nullable<Text>,
        title_edits -> Bool,
        language -> Text,
        post_template -> Text,
        content_warning -> Text,
        header_url -> Nullable<Text>,
        show_reminder -> Integer,
    }
}

diesel::table! {
    broadcasts (id) {
        id -> BigInt,
        stream_id -> BigInt,
        state -> Text,
        sid -> Nullable<Text>,
        title -> Text,
        listeners -> Integer,
        max_listeners -> Nullable<Integer>,
        started_at -> Timestamp,
        last_touch_at -> Timestamp,
        ending_since -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        announced_title -> Nullable<Text>,
        announced_at -> Nullable<Timestamp>,
        kept -> Bool,
        show_id -> Nullable<BigInt>,
        show_title -> Nullable<Text>,
        show_start -> Nullable<Timestamp>,
    }
}

diesel::table! {
    stream_keys (stream_id) {
        stream_id -> BigInt,
        public_key_pem -> Text,
        private_key_pem -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    instance_keys (id) {
        id -> BigInt,
        public_key_pem -> Text,
        private_key_pem -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    followers (id) {
        id -> BigInt,
        stream_id -> BigInt,
        actor_id -> Text,
        inbox -> Text,
        shared_inbox -> Nullable<Text>,
        state -> Text,
        created_at -> Timestamp,
        follow_id -> Nullable<Text>,
    }
}

diesel::table! {
    activities (id) {
        id -> BigInt,
        ap_id -> Text,
        kind -> Text,
        object_id -> Nullable<Text>,
        stream_id -> Nullable<BigInt>,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    deliveries (id) {
        id -> BigInt,
        activity_id -> BigInt,
        inbox -> Text,
        host -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        updated_at -> Timestamp,
        lease_owner -> Nullable<Text>,
    }
}

diesel::table! {
    host_breakers (host) {
        host -> Text,
        failures -> Integer,
        opened_at -> Nullable<Timestamp>,
        open_until -> Nullable<Timestamp>,
        reason -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    remote_actors (id) {
        id -> BigInt,
        ap_id -> Text,
        inbox -> Text,
        shared_inbox -> Nullable<Text>,
        public_key_pem -> Text,
        fetched_at -> Timestamp,
    }
}

diesel::table! {
    received_activities (ap_id) {
        ap_id -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> BigInt,
        actor_id -> Text,
        inbox -> Text,
        kind -> Text,
        state -> Text,
        follow_id -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    remote_streams (id) {
        id -> BigInt,
        actor_id -> Text,
        host -> Text,
        handle -> Text,
        name -> Text,
        summary -> Text,
        icon -> Nullable<Text>,
        url -> Nullable<Text>,
        genres -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    remote_broadcasts (id) {
        id -> BigInt,
        remote_stream_id -> BigInt,
        object_id -> Text,
        live -> Bool,
        title -> Text,
        listen_url -> Text,
        content_type -> Text,
        bitrate -> Nullable<Integer>,
        started_at -> Timestamp,
        heard_at -> Timestamp,
        unreachable_since -> Nullable<Timestamp>,
        hidden -> Bool,
    }
}

diesel::table! {
    blocks (id) {
        id -> BigInt,
        kind -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> BigInt,
        csrf -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    signin_failures (key) {
        key -> Text,
        failures -> Integer,
        first_at -> Timestamp,
    }
}

diesel::table! {
    shows (id) {
        id -> BigInt,
        stream_id -> BigInt,
        title -> Text,
        description -> Text,
        starts_local -> Timestamp,
        duration_minutes -> Integer,
        time_zone -> Text,
        weekly -> Bool,
        exceptions -> Text,
        cancelled_at -> Nullable<Timestamp>,
        announced_start -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        announced_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    show_reminders (id) {
        id -> BigInt,
        show_id -> BigInt,
        starts_at -> Timestamp,
        minutes -> Integer,
        sent_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    remote_shows (id) {
        id -> BigInt,
        remote_stream_id -> BigInt,
        object_id -> Text,
        title -> Text,
        summary -> Text,
        url -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        time_zone -> Text,
        live -> Bool,
        heard_at -> Timestamp,
    }
}

diesel::joinable!(remote_shows -> remote_streams (remote_stream_id));
diesel::joinable!(shows -> streams (stream_id));
diesel::joinable!(show_reminders -> shows (show_id));
diesel::joinable!(yp_tokens -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(deliveries -> activities (activity_id));
diesel::joinable!(followers -> streams (stream_id));
diesel::joinable!(stream_keys -> streams (stream_id));
diesel::joinable!(streams -> users (owner_id));
diesel::joinable!(broadcasts -> streams (stream_id));
diesel::joinable!(remote_broadcasts -> remote_streams (remote_stream_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    yp_tokens,
    streams,
    broadcasts,
    followers,
    instance_keys,
    stream_keys,
    activities,
    deliveries,
    host_breakers,
    remote_actors,
    received_activities,
    subscriptions,
    remote_streams,
    remote_broadcasts,
    blocks,
    sessions,
    shows,
    show_reminders,
    remote_shows
);
