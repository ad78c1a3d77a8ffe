use super::{Action, YpRequest};

fn add(body: &[u8]) -> super::AddRequest {
    match YpRequest::parse(body, true) {
        Ok(YpRequest::Add(a)) => *a,
        other => panic!("expected an add, got {other:?}"),
    }
}

fn touch(body: &[u8]) -> super::TouchRequest {
    match YpRequest::parse(body, true) {
        Ok(YpRequest::Touch(t)) => t,
        other => panic!("expected a touch, got {other:?}"),
    }
}

fn refusal(body: &[u8]) -> String {
    YpRequest::parse(body, false).unwrap_err().to_string()
}

#[test]
fn icecast_24_add_with_trailing_crlf_and_nameless_audio_info() {
    let a = add(b"action=add&sn=ezstream%20live%2dmp3&genre=Test%20Tones&cpswd=&desc=Sine%20tones%20from%20ezstream%20%28live%2dmp3%29&url=https%3a%2f%2fexample%2eorg%2flive%2dmp3&listenurl=http%3a%2f%2f127%2e0%2e0%2e1%3a18000%2flive%2emp3&type=audio%2fmpeg&stype=&b=128&bitrate%3d128%3bsamplerate%3d44100%3bchannels%3d2\r\n");
    assert_eq!(a.profile.name, "ezstream live-mp3");
    assert_eq!(a.profile.genres, "Test,Tones");
    assert_eq!(a.profile.description, "Sine tones from ezstream (live-mp3)");
    assert_eq!(a.profile.homepage, "https://example.org/live-mp3");
    assert_eq!(a.listen_url.as_str(), "http://127.0.0.1:18000/live.mp3");
    assert_eq!(a.mount, "live.mp3");
    assert_eq!(
        (a.profile.content_type.as_str(), a.profile.codec.as_str()),
        ("audio/mpeg", "MP3")
    );
    assert_eq!(
        (a.profile.bitrate, a.profile.samplerate, a.profile.channels),
        (Some(128), Some(44100), Some(2))
    );
    assert!(a.warnings.is_empty());
}

#[test]
fn ices2_double_escaped_audio_info_and_vorbis_subtype() {
    let a = add(b"action=add&sn=ices2%20stream&genre=Test%20Tones&cpswd=&desc=Sine%20tones%20from%20ices2&url=https%3a%2f%2fexample%2eorg%2fices&listenurl=http%3a%2f%2f127%2e0%2e0%2e1%3a18000%2fices%2eogg&type=application%2fogg&stype=Vorbis&b=80&samplerate%3d0%3bchannels%3d0%3bquality%3d3%252e00\r\n");
    assert_eq!(a.profile.codec, "Vorbis");
    assert_eq!(a.profile.bitrate, Some(80));
    // ices2 reports 0 for rates it does not know; 0 means unknown, not zero.
    assert_eq!((a.profile.samplerate, a.profile.channels), (None, None));
}

#[test]
fn icecast_25_add_with_extra_fields_and_audioinfo() {
    let a = add(b"action=add&admin=ops%40radio%2eexample&sn=Night%20Jazz&genre=jazz%2csoul&cpswd=x&desc=Unspecified%20description&url=&listenurl=https%3a%2f%2fradio%2eexample%3a8443%2fjazz&type=audio%2fogg&stype=Opus&language=en&sourceinstance=5b1c&b=96&samplerate=48000&channels=2&audioinfo=bitrate%3d96");
    assert_eq!(a.profile.name, "Night Jazz");
    assert_eq!(a.profile.genres, "jazz,soul");
    assert_eq!(
        a.profile.description, "",
        "Icecast's placeholder is not a description"
    );
    assert_eq!(a.listen_url.as_str(), "https://radio.example:8443/jazz");
    assert_eq!(
        (a.profile.bitrate, a.profile.samplerate, a.profile.channels),
        (Some(96), Some(48000), Some(2))
    );
}

#[test]
fn touch_decodes_utf8_and_html_references() {
    let t = touch(b"action=touch&sid=live.mp3-7ed88ed3&st=MP3%20Artist%20%2d%20Caf%c3%a9%20%26%238211%3b%20%c3%9cn%c3%afc%c3%b8d%c3%a9%20%26%20%22quotes%22%20%2b%20plus%20100%25&listeners=3&max_listeners=100&stype=\r\n");
    assert_eq!(t.sid.as_str(), "live.mp3-7ed88ed3");
    assert_eq!(
        t.title,
        "MP3 Artist - Café – Ünïcødé & \"quotes\" + plus 100%"
    );
    assert_eq!((t.listeners, t.max_listeners), (3, Some(100)));
}

#[test]
fn touch_with_stype_last_keeps_crlf_out_of_values() {
    let body = b"action=touch&sid=abc&st=&listeners=0&max_listeners=&stype=Vorbis\r\n";
    let form = super::Form::parse(body);
    assert_eq!(form.text("stype").unwrap().as_deref(), Some("Vorbis"));
    let t = touch(body);
    assert_eq!(
        (t.title.as_str(), t.listeners, t.max_listeners),
        ("", 0, None)
    );
}

#[test]
fn a_badly_encoded_title_does_not_fail_the_touch() {
    let t = touch(b"action=touch&sid=abc&st=Caf%e9%20M%fcller&listeners=1");
    assert_eq!(t.title, "Caf\u{fffd} M\u{fffd}ller");
}

#[test]
fn remove_has_no_crlf() {
    assert!(
        matches!(YpRequest::parse(b"action=remove&sid=live.ogg-36b2", true), Ok(YpRequest::Remove(s)) if s.as_str() == "live.ogg-36b2")
    );
}

#[test]
fn plus_means_space_for_other_clients() {
    let a =
        add(b"action=add&sn=My+Radio&type=audio/mpeg&listenurl=http://radio.example/a&genre=rock");
    assert_eq!(a.profile.name, "My Radio");
}

#[test]
fn refusals_say_what_to_fix() {
    assert!(refusal(b"").contains("missing action"));
    assert!(refusal(b"action=list").contains("unknown action \"list\""));
    assert!(refusal(b"action=add&sn=Unspecified%20name&type=audio%2fmpeg&listenurl=http%3a%2f%2fradio%2eexample%2fa").contains("default stream name"));
    assert!(
        refusal(b"action=add&type=audio%2fmpeg&listenurl=http%3a%2f%2fradio%2eexample%2fa")
            .contains("missing sn")
    );
    assert!(
        refusal(b"action=add&sn=x&listenurl=http%3a%2f%2fradio%2eexample%2fa")
            .contains("missing type")
    );
    assert!(
        refusal(b"action=add&sn=x&type=mpeg&listenurl=http%3a%2f%2fradio%2eexample%2fa")
            .contains("MIME type")
    );
    assert!(refusal(b"action=add&sn=x&type=audio%2fmpeg").contains("missing listenurl"));
    assert!(
        refusal(b"action=add&sn=x&type=audio%2fmpeg&listenurl=http%3a%2f%2flocalhost%3a8000%2fa")
            .contains("<hostname>")
    );
    assert!(
        refusal(
            b"action=add&sn=%ff%fe&type=audio%2fmpeg&listenurl=http%3a%2f%2fradio%2eexample%2fa"
        )
        .contains("sn is not valid UTF-8")
    );
    let long = format!(
        "action=add&sn={}&type=audio%2fmpeg&listenurl=http%3a%2f%2fradio%2eexample%2fa",
        "x".repeat(201)
    );
    assert!(refusal(long.as_bytes()).contains("longer than 200"));
    assert!(refusal(b"action=touch&st=x").contains("sid is missing"));
    assert!(refusal(b"action=touch&sid=a%20b").contains("sid is missing or malformed"));
    assert!(
        refusal(b"action=touch&sid=abc&listeners=many")
            .contains("listeners must be a whole number")
    );
}

#[test]
fn long_text_is_clipped_and_bad_homepages_are_dropped_with_a_warning() {
    let body = format!(
        "action=add&sn=x&type=audio%2fmpeg&listenurl=http%3a%2f%2fradio%2eexample%2fa&desc={}&url=javascript%3aalert(1)&genre={}",
        "d".repeat(5000),
        "g%20".repeat(50)
    );
    let a = add(body.as_bytes());
    assert_eq!(a.profile.description.chars().count(), 2000);
    assert_eq!(a.profile.homepage, "");
    assert_eq!(a.warnings.len(), 1);
    assert_eq!(a.profile.genres, "g", "duplicates collapse");
    let t = touch(format!("action=touch&sid=a&st={}", "t".repeat(900)).as_bytes());
    assert!(t.title.ends_with('…') && t.title.chars().count() == 500);
}

#[test]
fn actions_have_protocol_names() {
    assert_eq!(
        [
            Action::Add.as_str(),
            Action::Touch.as_str(),
            Action::Remove.as_str()
        ],
        ["add", "touch", "remove"]
    );
}
