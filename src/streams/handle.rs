//! Stream handles: the `name` in `@name@instance`, minted once and never changed.

/// Longest handle; Mastodon accepts 30 characters in a local username.
const MAX_LEN: usize = 30;

/// The handle a new stream would like: its name, else its mount, else `stream`, as lower-case
/// ASCII letters, digits and underscores (what Mastodon accepts in `@handle@instance`).
pub fn base_handle(name: &str, mount: &str) -> String {
    let mount_stem = mount
        .rsplit('/')
        .next()
        .unwrap_or("")
        .split('.')
        .next()
        .unwrap_or("");
    [name, mount_stem]
        .iter()
        .map(|s| slug(s))
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "stream".to_owned())
}

/// The first of `base`, `base_2`, `base_3`, … that is not in `taken`.
pub fn first_free(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| {
            let suffix = format!("_{n}");
            let stem: String = base.chars().take(MAX_LEN - suffix.len()).collect();
            format!("{stem}{suffix}")
        })
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| base.to_owned())
}

fn slug(s: &str) -> String {
    let ascii = deunicode::deunicode(s).to_ascii_lowercase();
    let mut out = String::new();
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out: String = out.trim_end_matches('_').chars().take(MAX_LEN).collect();
    out.trim_end_matches('_').to_owned()
}

#[cfg(test)]
mod tests {
    use super::{base_handle, first_free};

    #[test]
    fn handles_come_from_the_name_then_the_mount() {
        assert_eq!(
            base_handle("Radio Tëst – Jazz & Soul!", "live.ogg"),
            "radio_test_jazz_soul"
        );
        assert_eq!(base_handle("!!!", "night.mp3"), "night");
        assert_eq!(base_handle("", ""), "stream");
        assert_eq!(
            base_handle(&"a very long station name ".repeat(5), "x").len(),
            30
        );
        assert_eq!(base_handle("東京ラジオ", "x"), "dong_jing_razio");
    }

    #[test]
    fn taken_handles_get_a_number() {
        let taken = vec!["jazz".to_owned(), "jazz_2".to_owned()];
        assert_eq!(first_free("jazz", &taken), "jazz_3");
        assert_eq!(first_free("soul", &taken), "soul");
        let long = "x".repeat(30);
        assert_eq!(first_free(&long, std::slice::from_ref(&long)).len(), 30);
    }
}
