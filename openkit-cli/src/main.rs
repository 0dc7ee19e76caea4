//! The `openkit` command: serve the workbench, initialise a project, manage worktrees.
//!
//! This is the composition root: it reads the environment (`HOME`, `PATH`, the current
//! directory), builds the core services and hands them to the server.
#![forbid(unsafe_code)]

mod agent;
mod agent_hook;
mod cli;
mod client;
mod commands;
mod git;
mod github;
mod logs;
mod mcp;
mod ngrok;

use std::process::ExitCode;

use clap::Parser;
use openkit_core::containment;

#[cfg(target_os = "linux")]
fn supervise(args: impl Iterator<Item = std::ffi::OsString>) -> ExitCode {
    match containment::SuperviseOptions::parse(args) {
        Ok(opts) => std::process::exit(containment::supervise(opts)),
        Err(usage) => {
            eprintln!("error: {usage}");
            ExitCode::from(2)
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn supervise(_args: impl Iterator<Item = std::ffi::OsString>) -> ExitCode {
    eprintln!("error: runs are supervised on Linux only");
    ExitCode::from(2)
}

fn hold_terminals(args: impl Iterator<Item = std::ffi::OsString>) -> ExitCode {
    match openkit_pty::holder::HolderOptions::from_args(args) {
        Ok(opts) => match openkit_pty::holder::serve(opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: terminal holder: {e}");
                ExitCode::FAILURE
            }
        },
        Err(usage) => {
            eprintln!("error: {usage}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    // `openkit __supervise ...`: this process holds one dev-server or terminal run
    // together (see `openkit_core::containment`); it never parses the normal CLI.
    // `openkit __agent-hook ...`: an agent's hook reporting its state.
    let mut args = std::env::args_os().skip(1);
    match args.next() {
        Some(a) if a == containment::SUPERVISE_SUBCOMMAND => return supervise(args),
        Some(a) if a == openkit_core::attention::launch::AGENT_HOOK_SUBCOMMAND => {
            return agent_hook::run(args);
        }
        // `openkit __terminal-holder ...`: the process that keeps terminal sessions.
        Some(a) if a == openkit_pty::holder::HOLDER_SUBCOMMAND => return hold_terminals(args),
        _ => {}
    }
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPENKIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
