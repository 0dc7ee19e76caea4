//! The registry of issue sources of one project.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::{BUILTIN_SOURCES, IssueError, IssueId, IssueRef, IssueSource, SourceId};

/// The issue sources of a project, by name. Adapters register at composition time or
/// later (when a tracker gets configured); lookups are cheap reads.
///
/// What notes and rules accept is decided here ([`IssueSources::accepts`]): the built-in
/// names, configured or not, plus every registered source.
#[derive(Default)]
pub struct IssueSources {
    adapters: RwLock<BTreeMap<SourceId, Arc<dyn IssueSource>>>,
}

impl std::fmt::Debug for IssueSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssueSources")
            .field("registered", &self.names())
            .finish()
    }
}

impl IssueSources {
    /// An empty registry (the built-in names are still accepted for notes and rules).
    pub fn new() -> Self {
        IssueSources::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<SourceId, Arc<dyn IssueSource>>> {
        self.adapters.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `source` under its own name; returns the adapter it replaced.
    pub fn register(&self, source: Arc<dyn IssueSource>) -> Option<Arc<dyn IssueSource>> {
        let name = source.source().clone();
        self.adapters
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, source)
    }

    /// Removes the adapter of `source` (its notes stay readable when it is built in).
    pub fn unregister(&self, source: &SourceId) -> Option<Arc<dyn IssueSource>> {
        self.adapters
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(source)
    }

    /// The adapter of `source`; [`IssueError::UnknownSource`] when none is registered.
    pub fn get(&self, source: &SourceId) -> Result<Arc<dyn IssueSource>, IssueError> {
        self.find(source)
            .ok_or_else(|| IssueError::UnknownSource(source.to_string()))
    }

    /// The adapter of `source`, if one is registered.
    pub fn find(&self, source: &SourceId) -> Option<Arc<dyn IssueSource>> {
        self.read().get(source).cloned()
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<SourceId> {
        self.read().keys().cloned().collect()
    }

    /// Every accepted name (built-in and registered), sorted.
    pub fn known(&self) -> Vec<SourceId> {
        let mut all: Vec<SourceId> = BUILTIN_SOURCES
            .iter()
            .map(|s| SourceId::new(s).expect("built-in names are valid"))
            .collect();
        all.extend(self.names());
        all.sort();
        all.dedup();
        all
    }

    /// True when notes and rules accept `source`: a built-in name or a registered one.
    pub fn accepts(&self, source: &SourceId) -> bool {
        source.is_builtin() || self.read().contains_key(source)
    }

    /// Parses a source name that notes and rules accept; [`IssueError::InvalidSource`]
    /// for a malformed or unknown one.
    pub fn source(&self, name: &str) -> Result<SourceId, IssueError> {
        let source = SourceId::new(name)?;
        if self.accepts(&source) {
            Ok(source)
        } else {
            Err(IssueError::InvalidSource(name.to_string()))
        }
    }

    /// Parses an issue of an accepted source.
    pub fn issue(&self, source: &str, id: &str) -> Result<IssueRef, IssueError> {
        Ok(IssueRef::new(self.source(source)?, IssueId::new(id)?))
    }

    /// Checks that `issue`'s source is accepted.
    pub fn check(&self, issue: &IssueRef) -> Result<(), IssueError> {
        if self.accepts(&issue.source) {
            Ok(())
        } else {
            Err(IssueError::InvalidSource(issue.source.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::error::{DomainError, ErrorKind};
    use crate::issues::{Capabilities, Issue, IssueSummary};

    struct Named(SourceId);

    #[async_trait]
    impl IssueSource for Named {
        fn source(&self) -> &SourceId {
            &self.0
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::READ_ONLY
        }
        async fn list(&self) -> Result<Vec<IssueSummary>, IssueError> {
            Ok(Vec::new())
        }
        async fn get(&self, id: &IssueId) -> Result<Issue, IssueError> {
            Err(IssueError::NotFound(IssueRef::new(
                self.0.clone(),
                id.clone(),
            )))
        }
    }

    #[tokio::test]
    async fn register_get_and_accept() {
        let reg = IssueSources::new();
        let acme = SourceId::new("acme").unwrap();
        assert!(!reg.accepts(&acme));
        let err = reg.get(&acme).err().unwrap();
        assert_eq!(
            (err.code(), err.kind()),
            ("UNKNOWN_ISSUE_SOURCE", ErrorKind::NotFound)
        );
        assert_eq!(reg.source("acme").unwrap_err().code(), "INVALID_SOURCE");
        assert_eq!(reg.source("Bad/Name").unwrap_err().code(), "INVALID_SOURCE");
        // Built-in names are accepted before their adapter is registered.
        assert!(reg.source("kiket").is_ok());
        assert!(reg.find(&SourceId::new("kiket").unwrap()).is_none());

        assert!(reg.register(Arc::new(Named(acme.clone()))).is_none());
        assert!(reg.accepts(&acme));
        assert_eq!(reg.names(), vec![acme.clone()]);
        assert!(reg.known().contains(&acme) && reg.known().contains(&SourceId::local()));
        let adapter = reg.get(&acme).unwrap();
        assert!(adapter.capabilities().is_read_only());
        let err = adapter.create(Default::default()).await.unwrap_err();
        assert_eq!(err.code(), "ISSUE_OPERATION_UNSUPPORTED");
        assert_eq!(
            reg.issue("acme", "A-1").unwrap(),
            IssueRef::parse("acme", "A-1").unwrap()
        );
        assert_eq!(
            reg.issue("acme", "../x").unwrap_err().code(),
            "INVALID_ISSUE_ID"
        );
        assert!(reg.register(Arc::new(Named(acme.clone()))).is_some());
        reg.unregister(&acme);
        assert!(reg.check(&IssueRef::parse("acme", "A-1").unwrap()).is_err());
    }
}
