//! The host environment: the variables of the process OpenKit runs in, read once by the
//! frontend (the CLI) and handed to core.
//!
//! Core never calls `std::env::var`: whatever it needs from the host (the `PATH` it
//! searches, the `SHELL` terminals start, the `HOME` agents keep their state in, the
//! `NODE_OPTIONS` or `LD_PRELOAD` a dev server inherits) comes from a [`HostEnv`]. Child
//! processes get exactly this environment (minus what the command runner scrubs), so a
//! test or an embedder controls everything a child sees.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// A snapshot of environment variables, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostEnv {
    vars: BTreeMap<OsString, OsString>,
}

impl HostEnv {
    /// An environment with no variables at all.
    pub fn empty() -> Self {
        HostEnv::default()
    }

    /// An environment holding `vars` (the CLI passes `std::env::vars_os()`).
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        HostEnv {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Sets (or replaces) one variable.
    pub fn with_var(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// Removes one variable.
    pub fn without_var(mut self, key: impl AsRef<OsStr>) -> Self {
        self.vars.remove(key.as_ref());
        self
    }

    /// The value of `key`, if set.
    pub fn var(&self, key: impl AsRef<OsStr>) -> Option<&OsStr> {
        self.vars.get(key.as_ref()).map(OsString::as_os_str)
    }

    /// The value of `key` when it is set, non-empty and valid UTF-8.
    pub fn var_str(&self, key: impl AsRef<OsStr>) -> Option<&str> {
        self.var(key)
            .and_then(OsStr::to_str)
            .filter(|v| !v.is_empty())
    }

    /// Every variable, ordered by name.
    pub fn vars(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }

    /// The directories of `PATH`, in order (empty entries skipped).
    pub fn search_path(&self) -> Vec<PathBuf> {
        self.var("PATH")
            .map(|p| {
                std::env::split_paths(p)
                    .filter(|d| !d.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `HOME`, when set.
    pub fn home(&self) -> Option<PathBuf> {
        self.var("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    }

    /// `SHELL`, when set (terminals fall back to `/bin/sh`).
    pub fn shell(&self) -> Option<String> {
        self.var_str("SHELL").map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_was_given_and_nothing_else() {
        let env = HostEnv::from_vars([
            ("PATH", "/a/bin::/b/bin"),
            ("HOME", "/home/me"),
            ("SHELL", ""),
        ]);
        assert_eq!(
            env.search_path(),
            vec![PathBuf::from("/a/bin"), PathBuf::from("/b/bin")]
        );
        assert_eq!(env.home(), Some(PathBuf::from("/home/me")));
        assert_eq!(env.shell(), None, "an empty SHELL counts as unset");
        assert_eq!(env.var("USER"), None);
        let env = env.with_var("SHELL", "/bin/zsh").without_var("HOME");
        assert_eq!(env.shell().as_deref(), Some("/bin/zsh"));
        assert_eq!(env.home(), None);
        assert_eq!(
            env.vars().map(|(k, _)| k.to_owned()).collect::<Vec<_>>(),
            vec![OsString::from("PATH"), OsString::from("SHELL")]
        );
    }
}
