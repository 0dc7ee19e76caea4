//! The wire shape of a sample (`PerfSnapshot` in the API reference).

use serde::{Deserialize, Serialize};

/// CPU and memory of one process (or, for an agent session, of its process tree).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessMetrics {
    /// Process id.
    pub pid: u32,
    /// Command name (`comm`).
    pub name: String,
    /// CPU % since the previous sample; 100 = one core fully busy, so it can exceed 100
    /// on a multi-core machine. 0 on the first sample of a process.
    pub cpu: f64,
    /// Resident memory (RSS) in bytes.
    pub memory: u64,
}

/// Totals over every measured process: the server and each worktree's processes, each
/// process counted once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemMetrics {
    /// Sum of CPU %.
    pub total_cpu: f64,
    /// Sum of resident memory in bytes.
    pub total_memory: u64,
    /// Number of distinct processes measured, the server included.
    pub process_count: usize,
}

/// One worktree's processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeMetrics {
    /// Worktree id.
    pub worktree_id: String,
    /// The dev server process, when it runs.
    pub dev_server: Option<ProcessMetrics>,
    /// Every descendant of the dev server, by pid.
    pub child_processes: Vec<ProcessMetrics>,
    /// Agent terminal sessions: each entry is the session process with the CPU and
    /// memory of its whole process tree (the shell plus the agent it runs).
    pub agent_sessions: Vec<ProcessMetrics>,
    /// Sum of CPU % over the worktree's distinct processes.
    pub total_cpu: f64,
    /// Sum of resident memory over the worktree's distinct processes.
    pub total_memory: u64,
}

/// One sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerfSnapshot {
    /// When it was taken: ISO-8601 UTC with milliseconds (`2024-05-01T12:00:00.000Z`).
    pub timestamp: String,
    /// The OpenKit server process itself.
    pub server: ProcessMetrics,
    /// Totals.
    pub system: SystemMetrics,
    /// Per tracked worktree, in the order the process source gave them.
    pub worktrees: Vec<WorktreeMetrics>,
}
