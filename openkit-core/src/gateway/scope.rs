//! What a gateway session may do: `read` < `write` < `admin`.

use serde::{Deserialize, Serialize};

/// A session's scope. The order is the order of power: a scope allows everything a
/// lower one does.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Look only: no request that changes anything, no terminal input.
    Read,
    /// Work with worktrees, tasks, terminals (the default).
    #[default]
    Write,
    /// Also change configuration and manage the gateway itself.
    Admin,
}

impl Scope {
    /// The scope's word (`read`, `write`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    /// The scope named by `word` (exact lowercase words).
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// True when a session of this scope may do what needs `needed`.
    pub fn allows(self, needed: Scope) -> bool {
        self >= needed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_ordered_by_power() {
        assert!(Scope::Read < Scope::Write && Scope::Write < Scope::Admin);
        assert!(Scope::Admin.allows(Scope::Read));
        assert!(Scope::Write.allows(Scope::Write));
        assert!(!Scope::Read.allows(Scope::Write));
        assert!(!Scope::Write.allows(Scope::Admin));
        for s in [Scope::Read, Scope::Write, Scope::Admin] {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("Admin"), None);
        assert_eq!(Scope::default(), Scope::Write);
    }
}
