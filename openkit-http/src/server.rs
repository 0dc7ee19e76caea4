//! Binding, serving, `.openkit/server.json`, graceful shutdown.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use openkit_core::persist;
use openkit_core::{Composition, HostEnv, Paths, Workbench, WorktreeError};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::security::SecurityPolicy;
use crate::state::AppState;

/// How many consecutive ports are tried when the requested one is taken.
pub const PORT_ATTEMPTS: u16 = 20;

/// A server that could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// No port in the range could be bound.
    #[error("could not listen on {host} ports {first}..={last}: {source}")]
    Bind {
        /// Host address.
        host: IpAddr,
        /// First port tried.
        first: u16,
        /// Last port tried.
        last: u16,
        /// The last error.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// Builder for the OpenKit server.
pub struct Server {
    workbench: Arc<Workbench>,
    terminals: openkit_pty::TerminalManager,
    host: IpAddr,
    port: u16,
    extra_origins: Vec<String>,
    write_server_file: bool,
    ui_dir: Option<std::path::PathBuf>,
    gateway_port: Option<u16>,
    tunnel: openkit_core::tunnel::TunnelSettings,
}

impl Server {
    /// A server for the project at `paths` with the default services (see
    /// [`Composition`]) and PTY terminals, everything it runs getting `host_env`.
    pub fn open(paths: Paths, host_env: HostEnv) -> Result<Self, WorktreeError> {
        Server::compose(Composition::new(paths, host_env))
    }

    /// A server for the project `composition` wires, with PTY terminals in this process.
    pub fn compose(composition: Composition) -> Result<Self, WorktreeError> {
        Server::compose_with(composition, openkit_pty::TerminalManager::new())
    }

    /// A server for the project `composition` wires, with `terminals` (in this process,
    /// or in a holder that outlives it) plugged in.
    pub fn compose_with(
        composition: Composition,
        terminals: openkit_pty::TerminalManager,
    ) -> Result<Self, WorktreeError> {
        let workbench = composition.terminals(Arc::new(terminals.clone())).build()?;
        Ok(Server::new(workbench, terminals))
    }

    /// A server for a composed `workbench` whose terminals port is `terminals`, on
    /// 127.0.0.1:4040 (trying the next ports when taken).
    pub fn new(workbench: Arc<Workbench>, terminals: openkit_pty::TerminalManager) -> Self {
        Server {
            workbench,
            terminals,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 4040,
            extra_origins: Vec::new(),
            write_server_file: true,
            ui_dir: None,
            gateway_port: Some(0),
            tunnel: openkit_core::tunnel::TunnelSettings::default(),
        }
    }

    /// The gateway listener's port on the same host (0, the default: one the OS
    /// chooses); `None`: no gateway listener, so no tunnel can start.
    pub fn gateway_port(mut self, port: Option<u16>) -> Self {
        self.gateway_port = port;
        self
    }

    /// How the ngrok tunnel is started (the program, the authtoken).
    pub fn tunnel(mut self, settings: openkit_core::tunnel::TunnelSettings) -> Self {
        self.tunnel = settings;
        self
    }

    /// The workbench this server serves.
    pub fn workbench(&self) -> &Arc<Workbench> {
        &self.workbench
    }

    /// The first port to try; 0 lets the OS choose.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The address to bind (default 127.0.0.1).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// Also accepts requests from this origin (see [`SecurityPolicy::allow_origin`]).
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.extra_origins.push(origin.into());
        self
    }

    /// Serves the web UI built in `dir` (an existing directory with an `index.html`)
    /// instead of the embedded dashboard.
    pub fn ui_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.ui_dir = Some(dir);
        self
    }

    /// Whether to write `.openkit/server.json` (default true).
    pub fn write_server_file(mut self, write: bool) -> Self {
        self.write_server_file = write;
        self
    }

    /// Binds the first free port of the range.
    pub async fn bind(self) -> Result<BoundServer, ServerError> {
        let attempts = if self.port == 0 { 1 } else { PORT_ATTEMPTS };
        let mut last_err = None;
        for i in 0..attempts {
            let Some(port) = self.port.checked_add(i) else {
                break;
            };
            match TcpListener::bind(SocketAddr::new(self.host, port)).await {
                Ok(listener) => {
                    let addr = listener.local_addr().map_err(ServerError::Serve)?;
                    let policy = self
                        .extra_origins
                        .iter()
                        .fold(SecurityPolicy::for_port(addr.port()), |p, o| {
                            p.allow_origin(o.clone())
                        });
                    let (stop, stopped) = watch::channel(false);
                    let mut state =
                        AppState::new(Arc::clone(&self.workbench), self.terminals.clone(), policy)
                            .with_shutdown(stopped)
                            .with_tunnel_settings(self.tunnel.clone());
                    if let Some(dir) = &self.ui_dir {
                        state = state.with_ui_dir(dir.clone());
                    }
                    let gateway = match self.gateway_port {
                        Some(port) => {
                            let gateway = TcpListener::bind(SocketAddr::new(self.host, port))
                                .await
                                .map_err(|source| ServerError::Bind {
                                    host: self.host,
                                    first: port,
                                    last: port,
                                    source,
                                })?;
                            let gateway_addr = gateway.local_addr().map_err(ServerError::Serve)?;
                            state = state.with_gateway_port(gateway_addr.port());
                            Some((gateway, gateway_addr))
                        }
                        None => None,
                    };
                    let server_file = self
                        .write_server_file
                        .then(|| self.workbench.paths().server_file());
                    return Ok(BoundServer {
                        listener,
                        gateway,
                        addr,
                        state,
                        server_file,
                        stop,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last_err = Some(e),
                Err(e) => {
                    last_err = Some(e);
                    break;
                }
            }
        }
        Err(ServerError::Bind {
            host: self.host,
            first: self.port,
            last: self.port.saturating_add(attempts - 1),
            source: last_err.unwrap_or_else(|| std::io::Error::other("no port available")),
        })
    }
}

/// A listening server, ready to serve.
pub struct BoundServer {
    listener: TcpListener,
    gateway: Option<(TcpListener, SocketAddr)>,
    addr: SocketAddr,
    state: AppState,
    server_file: Option<PathBuf>,
    stop: watch::Sender<bool>,
}

impl BoundServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL clients use (`http://localhost:<port>`).
    pub fn url(&self) -> String {
        format!("http://localhost:{}", self.addr.port())
    }

    /// The gateway listener's address (what the tunnel points at), if there is one.
    pub fn gateway_addr(&self) -> Option<SocketAddr> {
        self.gateway.as_ref().map(|(_, addr)| *addr)
    }

    /// The server's state (the gateway, the tunnel, the workbench).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests. Writes
    /// `.openkit/server.json` while serving and removes it afterwards.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        if let Some(file) = &self.server_file {
            let record = json!({ "url": self.url(), "pid": std::process::id() });
            if let Err(e) = persist::write_json(file, &record) {
                tracing::warn!("could not write {}: {e}", file.display());
            }
        }
        let background = self.state.workbench().start_background();
        // The trackers' refresh of assigned issues (and agents auto-started on new ones).
        let integrations = self.state.integrations().start_background();
        let terminals = self.state.terminals().clone();
        let workbench = Arc::clone(self.state.workbench());
        let mcp = self.state.mcp().clone();
        let tunnel = Arc::clone(self.state.tunnel());
        // The gateway listener stops with the API (its streams end on the same signal).
        let gateway = self.gateway.map(|(listener, _)| {
            let app = crate::gateway::gateway_router(self.state.clone());
            let mut stopped = self.state.shutdown();
            tokio::spawn(async move {
                let until_stopped = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(until_stopped)
                    .await
                {
                    tracing::warn!("gateway listener failed: {e}");
                }
            })
        });
        let app = crate::router(self.state);
        let stop = self.stop;
        let result = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                // End the long-lived streams so in-flight requests can finish.
                let _ = stop.send(true);
                mcp.shutdown();
            })
            .await
            .map_err(ServerError::Serve);
        drop(integrations);
        drop(background);
        // No tunnel outlives the server, and the gateway listener is gone with it.
        tunnel.disable().await;
        if let Some(gateway) = gateway {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), gateway).await;
        }
        // No terminal or dev-server child outlives the server.
        terminals.shutdown_all();
        workbench.stop_all_dev_servers().await;
        if let Some(file) = &self.server_file {
            remove_if_ours(file);
        }
        result
    }
}

/// Removes `server.json` only when it still names this process (another server may have
/// taken over the project).
fn remove_if_ours(file: &std::path::Path) {
    let ours = persist::read_json_object(file)
        .ok()
        .flatten()
        .and_then(|m| m.get("pid").and_then(serde_json::Value::as_u64))
        == Some(u64::from(std::process::id()));
    if ours {
        let _ = std::fs::remove_file(file);
    }
}
