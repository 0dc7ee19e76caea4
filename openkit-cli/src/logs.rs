//! `openkit logs` and `openkit activity`: read the project's logs directly from
//! `.openkit/`, so they work whether or not a server is running.

use std::process::ExitCode;

use anyhow::{anyhow, bail};
use openkit_core::Paths;
use openkit_core::events::ActivityCategory;
use openkit_core::logs::{
    ActivityLog, ActivityQuery, Level, OpStatus, OpsLog, OpsQuery, parse_since,
};

use crate::cli::{ActivityArgs, LogsArgs};

fn check_limit(limit: usize) -> anyhow::Result<usize> {
    if limit == 0 || limit > 10_000 {
        bail!("--limit must be between 1 and 10000");
    }
    Ok(limit)
}

/// Prints ops-log events, oldest first.
pub fn show_ops(paths: &Paths, args: LogsArgs) -> anyhow::Result<ExitCode> {
    let query = OpsQuery {
        since: args
            .since
            .as_deref()
            .map(parse_since)
            .transpose()
            .map_err(|e| anyhow!(e))?,
        level: args
            .level
            .as_deref()
            .map(|l| {
                Level::parse(l).ok_or_else(|| {
                    anyhow!("unknown level {l:?}: use debug, info, warning or error")
                })
            })
            .transpose()?,
        status: args
            .status
            .as_deref()
            .map(|s| {
                OpStatus::parse(s).ok_or_else(|| {
                    anyhow!("unknown status {s:?}: use started, succeeded, failed or info")
                })
            })
            .transpose()?,
        source: args.source,
        search: args.search,
        limit: check_limit(args.limit)?,
    };
    let events = OpsLog::new(paths.openkit_dir().join("ops-log.jsonl")).query(&query)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "events": events }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    for e in events {
        let level = serde_json::to_value(e.level)?;
        let status = serde_json::to_value(e.status)?;
        println!(
            "{} {:<7} {:<9} {:<10} {}",
            e.timestamp,
            level.as_str().unwrap_or_default(),
            status.as_str().unwrap_or_default(),
            e.source,
            e.message
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints activity events, oldest first.
pub fn show_activity(paths: &Paths, args: ActivityArgs) -> anyhow::Result<ExitCode> {
    let query = ActivityQuery {
        since: args
            .since
            .as_deref()
            .map(parse_since)
            .transpose()
            .map_err(|e| anyhow!(e))?,
        category: args
            .category
            .as_deref()
            .map(|c| {
                ActivityCategory::parse(c)
                    .ok_or_else(|| anyhow!("unknown category {c:?}: use agent, worktree or system"))
            })
            .transpose()?,
        limit: check_limit(args.limit)?,
    };
    let events = ActivityLog::new(paths.openkit_dir().join("activity.jsonl")).query(&query)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "events": events }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    for e in events {
        let severity = serde_json::to_value(e.severity)?;
        println!(
            "{} {:<8} {:<8} {}{}",
            e.timestamp,
            e.category.as_str(),
            severity.as_str().unwrap_or_default(),
            e.title,
            e.worktree_id.map(|w| format!(" [{w}]")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
