//! What each subcommand does.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::CommandFactory;
use openkit_core::command::{CommandRunner, CommandSpec};
use openkit_core::config::InitOptions;
use openkit_core::{Composition, CreateWorktree, HostEnv, Paths, Workbench, discover_project};
use openkit_http::Server;
use openkit_pty::TerminalManager;
use openkit_pty::holder;

use crate::cli::{Cli, Command, InitArgs, ServeArgs, WorktreeCommand};
use crate::{agent, git, logs, mcp};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let cwd = match &cli.dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("reading the current directory")?,
    };
    match cli.command.unwrap_or(Command::Serve(ServeArgs {
        port: std::env::var("OPENKIT_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(4040),
        ..ServeArgs::default()
    })) {
        Command::Serve(args) => serve(&cwd, args).await,
        Command::Init(args) => init(&cwd, args),
        Command::Worktree(cmd) => worktree(&cwd, cmd).await,
        Command::Logs(args) => logs::show_ops(&project_paths(&cwd)?, args),
        Command::Activity(cmd) => match cmd.action {
            None => logs::show_activity(&project_paths(&cwd)?, cmd.list),
            Some(action) => agent::report(&cwd, action),
        },
        Command::Task(cmd) => agent::task(&cwd, cmd).await,
        Command::Git(cmd) => {
            let actor = std::env::var(git::ACTOR_ENV).ok();
            git::run(&cwd, actor.as_deref(), cmd)
        }
        Command::Mcp(args) => mcp::serve_stdio(&cwd, args.all_worktrees).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "openkit",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The environment of this process, read once per command and handed to core (which
/// reads none itself).
fn host_env() -> HostEnv {
    HostEnv::from_vars(std::env::vars_os())
}

/// The global state directory, `~/.openkit`.
fn global_dir() -> PathBuf {
    host_env()
        .home()
        .unwrap_or_else(std::env::temp_dir)
        .join(".openkit")
}

pub(crate) fn project_paths(cwd: &Path) -> anyhow::Result<Paths> {
    let root = discover_project(cwd).with_context(|| {
        format!(
            "{} is not inside a git repository or OpenKit project",
            cwd.display()
        )
    })?;
    Ok(Paths::new(root, global_dir()))
}

/// The services of the project at `paths`, with this process's environment and the
/// GitHub adapter; this binary supervises every dev server and terminal and receives
/// agents' hooks.
fn composition(paths: Paths) -> Composition {
    let host = host_env();
    let root = paths.project_root().to_path_buf();
    let composition = crate::github::plug_in(Composition::new(paths, host.clone()), &host, &root);
    match std::env::current_exe() {
        Ok(exe) => composition.openkit_program(exe),
        Err(_) => composition,
    }
}

/// The workbench for direct (serverless) commands; its git commands and activity are
/// recorded in the project's logs like the server's.
fn open_workbench(cwd: &Path) -> anyhow::Result<Arc<Workbench>> {
    let paths = project_paths(cwd)?;
    Ok(composition(paths).build()?)
}

/// `--ui-dir`: an existing directory with the UI's `index.html`, as a canonical path.
fn ui_directory(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("--ui-dir {}", dir.display()))?;
    if !dir.join("index.html").is_file() {
        anyhow::bail!("--ui-dir {}: there is no index.html in it", dir.display());
    }
    Ok(dir)
}

/// The project's terminal sessions: in its holder process (started when none runs), so
/// they outlive this server; in this process when no holder can be used.
fn terminal_sessions(paths: &Paths, idle: Duration) -> TerminalManager {
    let socket = holder::socket_path(paths.global_dir(), paths.project_root());
    let project = paths.project_root().to_string_lossy().into_owned();
    let options = holder::HolderOptions {
        socket: socket.clone(),
        project: project.clone(),
        idle,
    };
    let launcher = std::env::current_exe()
        .ok()
        .map(|program| holder::Launcher {
            program,
            args: std::iter::once(holder::HOLDER_SUBCOMMAND.into())
                .chain(options.to_args())
                .collect(),
        });
    match holder::HolderClient::connect(&socket, &project, launcher.as_ref()) {
        Ok(client) => TerminalManager::with_holder(client),
        Err(e) => {
            tracing::warn!("terminal sessions will end with this server: {e}");
            TerminalManager::new()
        }
    }
}

async fn serve(cwd: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let paths = project_paths(cwd)?;
    let root = paths.project_root().to_path_buf();
    let ui_dir = args.ui_dir.as_deref().map(ui_directory).transpose()?;
    let idle = Duration::from_secs(args.session_idle_timeout);
    let terminals = terminal_sessions(&paths, idle);
    let mut server = args.allow_origins.iter().fold(
        Server::compose_with(composition(paths), terminals.clone())?.port(args.port),
        |s, o| s.allow_origin(o.clone()),
    );
    if let Some(dir) = ui_dir {
        server = server.ui_dir(dir);
    }
    server = server
        .gateway_port((!args.no_gateway).then_some(args.gateway_port))
        .tunnel(crate::ngrok::tunnel_settings(&host_env()));
    let runner = server.workbench().git().runner().clone();
    let bound = server.bind().await?;
    let url = bound.url();
    println!(
        "OpenKit dashboard: {url}/  (serving {}; Ctrl-C stops)",
        root.display()
    );
    if let Some(gateway) = bound.gateway_addr() {
        println!(
            "Remote gateway: http://{gateway}/_ok/health (a tunnel starts with POST /api/ngrok/tunnel/enable)"
        );
    }
    if !args.no_open && has_display() {
        open_browser(&runner, &url, &root);
    }
    bound.serve(shutdown_signal()).await?;
    if args.stop_sessions {
        terminals.stop_sessions();
    }
    Ok(ExitCode::SUCCESS)
}

/// True when a graphical session is there to open a browser in.
fn has_display() -> bool {
    cfg!(target_os = "macos")
        || std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}

fn open_browser(runner: &CommandRunner, url: &str, cwd: &Path) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(e) = runner.spawn_detached(CommandSpec::new(opener, cwd).arg(url)) {
        tracing::debug!("could not open a browser: {e}");
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("OpenKit shutting down");
}

fn init(cwd: &Path, args: InitArgs) -> anyhow::Result<ExitCode> {
    let paths = project_paths(cwd)?;
    let store = openkit_core::ConfigStore::new(paths.clone());
    let detected = openkit_core::config::detect(paths.project_root());
    let interactive = !args.yes && std::io::stdin().is_terminal();
    let mut options = InitOptions {
        start_command: args.start_command,
        install_command: args.install_command,
        base_branch: args.base_branch,
        force: args.force,
    };
    if interactive {
        if paths.config_file().exists() && !options.force {
            options.force = ask_yes_no("A config exists already. Overwrite it?")?;
            if !options.force {
                println!("Nothing changed.");
                return Ok(ExitCode::SUCCESS);
            }
        }
        if options.start_command.is_none() {
            options.start_command = Some(ask("Dev server command", &detected.start_command)?);
        }
        if options.install_command.is_none() {
            options.install_command = Some(ask("Install command", &detected.install_command)?);
        }
        if options.base_branch.is_none() {
            options.base_branch = Some(ask("Base branch", &detected.base_branch)?);
        }
    }
    let config = store.init(options)?;
    println!(
        "Created {} (start: {:?}, install: {:?}, base branch: {})",
        paths.config_file().display(),
        config.start_command,
        config.install_command,
        config.base_branch
    );
    // Default project skills (work-on-task) for every agent: best-effort.
    let registries = openkit_core::registry::Registries::new(&paths, &host_env());
    for (tool, err) in registries.skills().enable_default_project_skills() {
        eprintln!("Note: the work-on-task skill was not linked for {tool}: {err}");
    }
    Ok(ExitCode::SUCCESS)
}

fn ask(question: &str, default: &str) -> anyhow::Result<String> {
    print!("{question} [{default}]: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let answer = line.trim();
    Ok(if answer.is_empty() {
        default.to_string()
    } else {
        answer.to_string()
    })
}

fn ask_yes_no(question: &str) -> anyhow::Result<bool> {
    let answer = ask(&format!("{question} (y/n)"), "n")?;
    Ok(matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes"))
}

async fn worktree(cwd: &Path, cmd: WorktreeCommand) -> anyhow::Result<ExitCode> {
    let workbench = open_workbench(cwd)?;
    match cmd {
        WorktreeCommand::List { json } => {
            let list = workbench.list_worktrees().await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "worktrees": list }))?
                );
            } else {
                for wt in list {
                    let mut flags = Vec::new();
                    if wt.has_uncommitted {
                        flags.push("uncommitted".to_string());
                    }
                    if wt.commits_ahead > 0 {
                        flags.push(format!("{} ahead", wt.commits_ahead));
                    }
                    if let Some(n) = wt.commits_ahead_of_base.filter(|n| *n > 0) {
                        flags.push(format!("{n} ahead of base"));
                    }
                    let status = serde_json::to_value(wt.status)?;
                    println!(
                        "{:<24} {:<32} {:<9} {}",
                        wt.id,
                        wt.branch,
                        status.as_str().unwrap_or_default(),
                        flags.join(", ")
                    );
                }
            }
        }
        WorktreeCommand::Create { branch, id } => {
            let created = workbench
                .create_worktree(CreateWorktree {
                    branch,
                    id,
                    name: None,
                })
                .await?;
            if let Some(settled) = created.settled {
                eprintln!("Installing dependencies in {} ...", created.worktree.id);
                settled.await.context("install task")??;
            }
            println!(
                "Created worktree {} at {}",
                created.worktree.id,
                created.worktree.path.display()
            );
        }
        WorktreeCommand::Remove { id } => {
            let report = workbench.delete_worktree(&id).await?;
            println!("Removed worktree {} (branch kept)", report.worktree_id);
        }
    }
    Ok(ExitCode::SUCCESS)
}
