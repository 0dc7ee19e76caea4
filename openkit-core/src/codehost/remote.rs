//! Which repository a remote URL names.
//!
//! Accepted forms (any host, so GitHub Enterprise works the same way):
//! `https://github.com/o/r(.git)(/)`, `http://…`, `https://user@host/o/r`,
//! `ssh://git@host(:port)/o/r(.git)`, `git+ssh://…`, `git://host/o/r`, and the scp-like
//! `git@github.com:o/r.git` / `host:o/r`. A GitHub Enterprise path prefix (`/git/o/r`,
//! some installations) is not a repository of two components and is refused, like
//! local paths and `file://` URLs.

use std::fmt;

/// A repository on a code host: host name, owner and repository name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoSlug {
    /// Host name, lowercase (`github.com`, `ghe.example.com`), without a port.
    pub host: String,
    /// Owner (user or organisation).
    pub owner: String,
    /// Repository name, without `.git`.
    pub name: String,
}

impl RepoSlug {
    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

impl fmt::Display for RepoSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The repository a remote URL points at, or `None` for anything that is not
/// `host` + `owner/name` (a local path, `file://`, a deeper path).
pub fn parse_remote_url(url: &str) -> Option<RepoSlug> {
    let url = url.trim();
    if url.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (authority, path) = if let Some((scheme, rest)) = url.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(
            scheme.as_str(),
            "https" | "http" | "ssh" | "git" | "git+ssh" | "ssh+git"
        ) {
            return None;
        }
        rest.split_once('/')?
    } else {
        // scp-like: [user@]host:path, where the host has no slash before the colon.
        let (authority, path) = url.split_once(':')?;
        if authority.contains('/') || path.starts_with("//") {
            return None;
        }
        (authority, path)
    };
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host_port
        .split_once(':')
        .map_or(host_port, |(h, _)| h)
        .to_ascii_lowercase();
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
    {
        return None;
    }
    let path = path.trim_start_matches('/').trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let (owner, name) = path.split_once('/')?;
    let valid = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !valid(owner) || !valid(name) {
        return None;
    }
    Some(RepoSlug {
        host,
        owner: owner.to_string(),
        name: name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(url: &str) -> Option<String> {
        parse_remote_url(url).map(|s| format!("{} {}/{}", s.host, s.owner, s.name))
    }

    #[test]
    fn https_and_ssh_forms() {
        let cases = [
            (
                "https://github.com/acme/widgets.git",
                "github.com acme/widgets",
            ),
            ("https://github.com/acme/widgets", "github.com acme/widgets"),
            (
                "https://github.com/acme/widgets/",
                "github.com acme/widgets",
            ),
            ("http://GitHub.com/acme/widgets", "github.com acme/widgets"),
            (
                "https://x-access-token@github.com/acme/w.js.git",
                "github.com acme/w.js",
            ),
            ("git@github.com:acme/widgets.git", "github.com acme/widgets"),
            ("git@github.com:acme/widgets", "github.com acme/widgets"),
            ("github.com:acme/widgets.git", "github.com acme/widgets"),
            (
                "ssh://git@github.com/acme/widgets.git",
                "github.com acme/widgets",
            ),
            (
                "ssh://git@github.com:22/acme/widgets",
                "github.com acme/widgets",
            ),
            (
                "git+ssh://git@github.com/acme/widgets.git",
                "github.com acme/widgets",
            ),
            (
                "git://github.com/acme/widgets.git",
                "github.com acme/widgets",
            ),
            (
                "https://ghe.example.com/team/app.git",
                "ghe.example.com team/app",
            ),
            (
                "git@ghe.example.com:team/app.git",
                "ghe.example.com team/app",
            ),
            (
                "ssh://git@ghe.example.com:2222/team/app",
                "ghe.example.com team/app",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(slug(url).as_deref(), Some(want), "{url}");
        }
    }

    proptest::proptest! {
        /// Whatever the form, a remote URL of `host` + `owner/name` names exactly that.
        #[test]
        fn every_form_round_trips(
            host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){1,2}",
            owner in "[A-Za-z0-9][A-Za-z0-9_.-]{0,15}",
            name in "[A-Za-z0-9_-][A-Za-z0-9_.-]{0,15}",
            form in 0usize..5,
            suffix in proptest::bool::ANY,
        ) {
            proptest::prop_assume!(owner != "." && owner != ".." && name != "." && name != "..");
            proptest::prop_assume!(!name.ends_with(".git"));
            let tail = if suffix { ".git" } else { "" };
            let url = match form {
                0 => format!("https://{host}/{owner}/{name}{tail}"),
                1 => format!("git@{host}:{owner}/{name}{tail}"),
                2 => format!("ssh://git@{host}/{owner}/{name}{tail}"),
                3 => format!("ssh://git@{host}:2222/{owner}/{name}{tail}"),
                _ => format!("https://token@{host}/{owner}/{name}{tail}/"),
            };
            let slug = parse_remote_url(&url).expect("parses");
            proptest::prop_assert_eq!(slug.host, host);
            proptest::prop_assert_eq!(slug.owner, owner);
            proptest::prop_assert_eq!(slug.name, name);
        }
    }

    #[test]
    fn what_is_not_a_repository() {
        for url in [
            "",
            "/srv/git/origin.git",
            "../origin.git",
            "file:///srv/git/acme/widgets.git",
            "https://github.com/acme",
            "https://github.com/acme/widgets/tree/main",
            "https://github.com/../widgets",
            "git@github.com:acme",
            "ftp://github.com/acme/widgets",
            "https://github.com/acme/wid gets",
        ] {
            assert_eq!(slug(url), None, "{url}");
        }
    }
}
