//! `next`: where a browser goes after pairing. Only a local path of the gateway's own
//! project page is accepted; anything else becomes `/`.

/// The longest `next` kept.
const MAX_NEXT: usize = 512;

/// Sanitises a `next` value to a local path: it must start with a single `/`, carry no
/// scheme or authority (`//host`, `/\host`, `https://...`), no backslash, no control or
/// whitespace character, no `..` or `.` segment (also percent-encoded), and no
/// percent-encoded slash or backslash. Anything else, or nothing, is `/`.
pub fn sanitize_next(next: Option<&str>) -> String {
    match next {
        Some(next) if is_local_path(next) => next.to_string(),
        _ => "/".to_string(),
    }
}

fn is_local_path(next: &str) -> bool {
    if next.len() > MAX_NEXT || !next.starts_with('/') || next.starts_with("//") {
        return false;
    }
    if next
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return false;
    }
    let lower = next.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") || lower.contains("%00") {
        return false;
    }
    // The path part (before `?`/`#`) must have no dot segments, plain or encoded.
    let path = lower.split(['?', '#']).next().unwrap_or("");
    let dots = path
        .split('/')
        .map(|segment| segment.replace("%2e", "."))
        .any(|segment| segment == "." || segment == "..");
    if dots {
        return false;
    }
    // No scheme anywhere in the first segment (`/javascript:...` is a path, but be strict).
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    !first.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn local_paths_pass_and_everything_else_is_the_root() {
        for ok in ["/", "/#/w/feature-1", "/tasks?x=1", "/a/b", "/a%20b"] {
            assert_eq!(sanitize_next(Some(ok)), ok, "{ok}");
        }
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil",
            "/%2f%2fevil.example",
            "/%5cevil",
            "/../api/config",
            "/a/%2e%2e/b",
            "/a/./b",
            "javascript:alert(1)",
            "/javascript:alert(1)",
            "/a\nb",
            "/a b",
            "evil.example",
        ] {
            assert_eq!(sanitize_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(sanitize_next(None), "/");
        assert_eq!(sanitize_next(Some(&format!("/{}", "a".repeat(600)))), "/");
    }

    proptest! {
        /// Whatever comes in, what goes out is a local path: one leading slash, no
        /// authority, no backslash, no dot segment, no control character.
        #[test]
        fn next_is_always_a_local_path(input in "\\PC{0,40}", prefix in prop::sample::select(vec!["", "/", "//", "/\\", "https://", "/%2e%2e/"])) {
            let input = format!("{prefix}{input}");
            let out = sanitize_next(Some(&input));
            prop_assert!(out.starts_with('/'));
            prop_assert!(!out.starts_with("//"));
            prop_assert!(!out.contains('\\'));
            prop_assert!(!out.chars().any(char::is_control));
            let path = out.split(['?', '#']).next().unwrap().to_ascii_lowercase();
            prop_assert!(!path.split('/').any(|s| s == ".." || s == "." || s.replace("%2e", ".") == ".."));
            prop_assert!(out == "/" || out == input);
        }
    }
}
