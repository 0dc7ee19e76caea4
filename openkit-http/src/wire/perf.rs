//! Performance monitoring: `/api/perf`, `/api/perf/current`, `/api/perf/stream`.

use std::sync::Arc;

use openkit_core::perf::{
    PerfSnapshot as CoreSnapshot, ProcessMetrics as CoreProcess, SystemMetrics as CoreSystem,
    WorktreeMetrics as CoreWorktree,
};
use serde::Serialize;
use utoipa::ToSchema;

/// CPU and memory of one process (for an agent session: of its whole process tree).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessMetrics {
    /// Process id.
    pub pid: u32,
    /// Command name.
    pub name: String,
    /// CPU % since the previous sample (100 = one core busy; may exceed 100).
    pub cpu: f64,
    /// Resident memory in bytes.
    pub memory: u64,
}

impl From<&CoreProcess> for ProcessMetrics {
    fn from(p: &CoreProcess) -> Self {
        ProcessMetrics {
            pid: p.pid,
            name: p.name.clone(),
            cpu: p.cpu,
            memory: p.memory,
        }
    }
}

/// Totals over every measured process, each counted once.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemMetrics {
    /// Sum of CPU %.
    pub total_cpu: f64,
    /// Sum of resident memory in bytes.
    pub total_memory: u64,
    /// Number of distinct processes measured, the server included.
    pub process_count: usize,
}

impl From<&CoreSystem> for SystemMetrics {
    fn from(s: &CoreSystem) -> Self {
        SystemMetrics {
            total_cpu: s.total_cpu,
            total_memory: s.total_memory,
            process_count: s.process_count,
        }
    }
}

/// One worktree's processes.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeMetrics {
    /// Worktree id.
    pub worktree_id: String,
    /// The dev server process, when it runs.
    #[schema(required = true)]
    pub dev_server: Option<ProcessMetrics>,
    /// Every descendant of the dev server.
    pub child_processes: Vec<ProcessMetrics>,
    /// Agent terminal sessions, each with its process tree's totals.
    pub agent_sessions: Vec<ProcessMetrics>,
    /// Sum of CPU % over the worktree's distinct processes.
    pub total_cpu: f64,
    /// Sum of resident memory over the worktree's distinct processes.
    pub total_memory: u64,
}

impl From<&CoreWorktree> for WorktreeMetrics {
    fn from(w: &CoreWorktree) -> Self {
        WorktreeMetrics {
            worktree_id: w.worktree_id.clone(),
            dev_server: w.dev_server.as_ref().map(ProcessMetrics::from),
            child_processes: w.child_processes.iter().map(ProcessMetrics::from).collect(),
            agent_sessions: w.agent_sessions.iter().map(ProcessMetrics::from).collect(),
            total_cpu: w.total_cpu,
            total_memory: w.total_memory,
        }
    }
}

/// One sample.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PerfSnapshot {
    /// When it was taken: ISO-8601 UTC with milliseconds.
    pub timestamp: String,
    /// The OpenKit server process itself.
    pub server: ProcessMetrics,
    /// Totals.
    pub system: SystemMetrics,
    /// Per tracked worktree.
    pub worktrees: Vec<WorktreeMetrics>,
}

impl From<&CoreSnapshot> for PerfSnapshot {
    fn from(s: &CoreSnapshot) -> Self {
        PerfSnapshot {
            timestamp: s.timestamp.clone(),
            server: (&s.server).into(),
            system: (&s.system).into(),
            worktrees: s.worktrees.iter().map(WorktreeMetrics::from).collect(),
        }
    }
}

/// Maps a list of core snapshots.
pub fn snapshot_list(snapshots: &[Arc<CoreSnapshot>]) -> Vec<PerfSnapshot> {
    snapshots
        .iter()
        .map(|s| PerfSnapshot::from(s.as_ref()))
        .collect()
}

/// `GET /api/perf`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PerfSnapshots {
    /// The kept samples, oldest first.
    pub snapshots: Vec<PerfSnapshot>,
}

/// `GET /api/perf/current`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PerfCurrent {
    /// The latest sample, or `null` before the first.
    #[schema(required = true)]
    pub snapshot: Option<PerfSnapshot>,
}

/// One event of `GET /api/perf/stream`, tagged by `type`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type")]
pub enum PerfEvent {
    /// The kept samples, sent once on connect.
    #[serde(rename = "perf-history")]
    History {
        /// Oldest first.
        snapshots: Vec<PerfSnapshot>,
    },
    /// A new sample.
    #[serde(rename = "perf-snapshot")]
    Snapshot {
        /// The sample.
        snapshot: PerfSnapshot,
    },
}
