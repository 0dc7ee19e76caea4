//! What every handler can reach.

use std::path::PathBuf;
use std::sync::Arc;

use openkit_core::Workbench;
use openkit_core::backbone::Backbone;
use openkit_core::notes::NotesStore;
use openkit_core::perf::PerfMonitor;
use openkit_core::tasks::LocalTasks;
use tokio::sync::watch;

use crate::error::ApiError;
use crate::security::SecurityPolicy;

/// Shared server state: the composed workbench, the terminal manager the WebSocket
/// bridge attaches to, and HTTP settings.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Inner {
    pub(crate) workbench: Arc<Workbench>,
    pub(crate) terminals: openkit_pty::TerminalManager,
    pub(crate) policy: Arc<SecurityPolicy>,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// The shell terminals start (`$SHELL` of the host environment).
    pub(crate) shell: Option<String>,
    /// Directories searched for local apps (`$PATH` of the host environment).
    pub(crate) search_path: Vec<PathBuf>,
    /// The longest port discovery may run.
    pub(crate) discover_cap: std::time::Duration,
    /// Encoded event-stream frames and the connect snapshot, shared by every client.
    pub(crate) feed: Arc<crate::routes::events::FeedCache>,
    /// The encoded body of the last `GET /api/worktrees`.
    pub(crate) list_body: Arc<crate::routes::worktrees::ListBody>,
    /// The MCP server at `/mcp`.
    pub(crate) mcp: crate::mcp::McpEndpoint,
    /// Another web UI's build served instead of the embedded dashboard (canonical path).
    pub(crate) ui_dir: Option<PathBuf>,
    /// The tracker and forge services (Jira, Linear, Kiket, Kizuna, Kite).
    pub(crate) integrations: openkit_integrations::Integrations,
    /// Who is signed in through the remote gateway.
    pub(crate) gateway: Arc<openkit_core::gateway::Gateway>,
    /// The ngrok tunnel in front of the gateway listener.
    pub(crate) tunnel: Arc<openkit_core::tunnel::Tunnel>,
    /// The gateway listener's port, once it listens.
    pub(crate) gateway_port: Option<u16>,
}

impl AppState {
    /// State for `workbench` (built by [`openkit_core::Composition`] with `terminals`
    /// plugged in, so deleting a worktree ends its sessions), accepting requests as
    /// `policy` says. Agent sessions' changes of state are announced by the workbench.
    pub fn new(
        workbench: Arc<Workbench>,
        terminals: openkit_pty::TerminalManager,
        policy: SecurityPolicy,
    ) -> Self {
        let announcer = Arc::downgrade(&workbench);
        terminals.on_attention(Arc::new(move |change| {
            if let Some(workbench) = announcer.upgrade() {
                workbench.announce_attention(&change);
            }
        }));
        let (_, shutdown) = watch::channel(false);
        let host = workbench.host();
        let mcp = crate::mcp::McpEndpoint::new(
            crate::mcp::OpenKitTools::new(Arc::clone(&workbench), terminals.clone()),
            &policy,
        );
        let integrations = openkit_integrations::Integrations::new(Arc::clone(&workbench));
        let gateway = Arc::new(openkit_core::gateway::Gateway::new(
            workbench.paths(),
            Arc::clone(workbench.backbone()) as _,
            Arc::new(openkit_core::gateway::SystemClock),
            openkit_core::gateway::GatewaySettings::default(),
        ));
        let tunnel = Arc::new(new_tunnel(&workbench, Default::default()));
        AppState {
            inner: Arc::new(Inner {
                gateway,
                tunnel,
                gateway_port: None,
                integrations,
                shell: host.shell(),
                search_path: host.search_path(),
                discover_cap: workbench.discover_cap(),
                feed: Arc::default(),
                list_body: Arc::default(),
                mcp,
                workbench,
                terminals,
                policy: Arc::new(policy),
                shutdown,
                ui_dir: None,
            }),
        }
    }

    fn with_inner(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        change(&mut inner);
        AppState {
            inner: Arc::new(inner),
        }
    }

    /// Serves the web UI built in `dir` (its `index.html` for every app path) instead of
    /// the embedded dashboard: the original OpenKit UI as a second client.
    pub fn with_ui_dir(self, dir: PathBuf) -> Self {
        self.with_inner(|inner| inner.ui_dir = Some(dir))
    }

    /// Starts the ngrok tunnel with `settings` (the program, the authtoken) instead of
    /// `ngrok` from the host's `PATH` with its own configuration.
    pub fn with_tunnel_settings(self, settings: openkit_core::tunnel::TunnelSettings) -> Self {
        let tunnel = Arc::new(new_tunnel(&self.inner.workbench, settings));
        self.with_inner(|inner| inner.tunnel = tunnel)
    }

    /// Uses `gateway` (other lifetimes, limits or clock) for remote sign-ins.
    pub fn with_gateway(self, gateway: openkit_core::gateway::Gateway) -> Self {
        self.with_inner(|inner| inner.gateway = Arc::new(gateway))
    }

    /// The gateway listener listens on `port`: the tunnel points there.
    pub fn with_gateway_port(self, port: u16) -> Self {
        self.with_inner(|inner| inner.gateway_port = Some(port))
    }

    /// Who is signed in through the remote gateway.
    pub fn gateway(&self) -> &Arc<openkit_core::gateway::Gateway> {
        &self.inner.gateway
    }

    /// The ngrok tunnel.
    pub fn tunnel(&self) -> &Arc<openkit_core::tunnel::Tunnel> {
        &self.inner.tunnel
    }

    /// The gateway listener's port, when one listens.
    pub fn gateway_port(&self) -> Option<u16> {
        self.inner.gateway_port
    }

    /// The port of the API (the first the security policy accepts).
    pub fn api_port(&self) -> u16 {
        self.inner.policy.port()
    }

    /// The web UI directory served instead of the embedded dashboard, if any.
    pub fn ui_dir(&self) -> Option<&std::path::Path> {
        self.inner.ui_dir.as_deref()
    }

    /// Long-lived responses (event streams) end when this turns `true`.
    pub fn with_shutdown(self, shutdown: watch::Receiver<bool>) -> Self {
        self.with_inner(|inner| inner.shutdown = shutdown)
    }

    /// The workbench.
    pub fn workbench(&self) -> &Arc<Workbench> {
        &self.inner.workbench
    }

    /// The tracker and forge services.
    pub fn integrations(&self) -> &openkit_integrations::Integrations {
        &self.inner.integrations
    }

    /// The event backbone.
    pub fn backbone(&self) -> &Arc<Backbone> {
        self.inner.workbench.backbone()
    }

    /// Per-issue notes.
    pub fn notes(&self) -> &Arc<NotesStore> {
        self.inner.workbench.notes()
    }

    /// Local tasks.
    pub fn tasks(&self) -> &Arc<LocalTasks> {
        self.inner.workbench.tasks()
    }

    /// The terminal sessions.
    pub fn terminals(&self) -> &openkit_pty::TerminalManager {
        &self.inner.terminals
    }

    /// The MCP server at `/mcp`.
    pub fn mcp(&self) -> &crate::mcp::McpEndpoint {
        &self.inner.mcp
    }

    /// The performance monitor.
    pub fn perf(&self) -> &PerfMonitor {
        self.inner.workbench.perf()
    }

    /// What the event-stream clients share.
    pub(crate) fn feed_cache(&self) -> &crate::routes::events::FeedCache {
        &self.inner.feed
    }

    /// A receiver that turns `true` when the server shuts down.
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.clone()
    }

    /// The registries (MCP servers, skills, custom agents) of the user, seen from this
    /// project, with the home directory of the workbench's host environment, and
    /// OpenKit's own MCP server as the built-in one when the `openkit` program is known.
    pub fn registries(&self) -> openkit_core::registry::Registries {
        let workbench = self.workbench();
        let registries =
            openkit_core::registry::Registries::new(workbench.paths(), workbench.host());
        match workbench.openkit_program() {
            Some(program) => registries.with_builtin_server(program),
            None => registries,
        }
    }

    /// Runs registry file I/O (reads, atomic writes, bounded scans) on the blocking pool.
    pub async fn on_registries<T: Send + 'static>(
        &self,
        f: impl FnOnce(
            &openkit_core::registry::Registries,
        ) -> Result<T, openkit_core::registry::RegistryError>
        + Send
        + 'static,
    ) -> Result<T, ApiError> {
        let registries = self.registries();
        match tokio::task::spawn_blocking(move || f(&registries)).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(join) => Err(ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                format!("registry task failed: {join}"),
            )),
        }
    }

    /// Runs blocking log I/O on the blocking pool.
    pub async fn on_backbone<T, E>(
        &self,
        f: impl FnOnce(&Backbone) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Send + 'static,
        ApiError: From<E>,
    {
        let backbone = Arc::clone(self.backbone());
        match tokio::task::spawn_blocking(move || f(&backbone)).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(join) => Err(ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                format!("log task failed: {join}"),
            )),
        }
    }
}

/// The tunnel of `workbench`'s project: its host environment, its supervisor, its root.
fn new_tunnel(
    workbench: &Workbench,
    settings: openkit_core::tunnel::TunnelSettings,
) -> openkit_core::tunnel::Tunnel {
    openkit_core::tunnel::Tunnel::new(
        settings,
        workbench.host().clone(),
        workbench.supervisor().cloned(),
        workbench.paths().project_root().to_path_buf(),
    )
}
