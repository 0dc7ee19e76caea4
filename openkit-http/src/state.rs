//! What every handler can reach.

use std::path::PathBuf;
use std::sync::Arc;

use openkit_core::Workbench;

use crate::security::SecurityPolicy;

/// Shared server state: the workbench plus frontend settings.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) workbench: Arc<Workbench>,
    pub(crate) policy: Arc<SecurityPolicy>,
    pub(crate) search_path: Vec<PathBuf>,
}

impl AppState {
    /// State for `workbench`, accepting requests as `policy` says.
    pub fn new(workbench: Arc<Workbench>, policy: SecurityPolicy) -> Self {
        AppState {
            inner: Arc::new(Inner {
                workbench,
                policy: Arc::new(policy),
                search_path: Vec::new(),
            }),
        }
    }

    /// Directories searched for local apps (open targets); usually `$PATH`.
    pub fn with_search_path(self, search_path: Vec<PathBuf>) -> Self {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|arc| Inner {
            workbench: Arc::clone(&arc.workbench),
            policy: Arc::clone(&arc.policy),
            search_path: arc.search_path.clone(),
        });
        AppState {
            inner: Arc::new(Inner {
                search_path,
                ..inner
            }),
        }
    }

    /// The workbench.
    pub fn workbench(&self) -> &Arc<Workbench> {
        &self.inner.workbench
    }
}
