//! One command step, run to completion (see the module docs of [`super`]).

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::config::HookStep;
use super::run::{StepResult, StepStatus};
use crate::command::{CommandError, CommandRunner, CommandSpec, PidSlot};
use crate::devserver::{RUN_VAR, RunGroup};
use crate::logs::now_iso;

/// Hook steps that may run at once, over every worktree (the composition gives hooks a
/// command runner with budgets of their own, so checks never starve git).
pub const STEP_LIMIT: usize = 8;
/// Bytes of output kept per step (the newest; older output is dropped with a marker).
pub const OUTPUT_LIMIT: usize = 64 * 1024;
/// How long the leftovers of a step get to die before the step is reported anyway.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// The command runner's own timeout is the step's plus this: the step's timeout is
/// applied here, so the whole run (tagged daemons included) is stopped, not only the group.
const BACKSTOP: Duration = Duration::from_secs(30);

/// Output of a step, bounded: the newest `limit` bytes and how many were dropped.
#[derive(Debug)]
pub struct BoundedOutput {
    bytes: Vec<u8>,
    limit: usize,
    dropped: usize,
}

impl BoundedOutput {
    /// Keeps at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        BoundedOutput {
            bytes: Vec::new(),
            limit,
            dropped: 0,
        }
    }

    /// Appends a chunk, dropping the oldest bytes beyond the limit.
    pub fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        // Amortised: trim only once the buffer holds twice the limit.
        if self.bytes.len() > self.limit.saturating_mul(2).max(1) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.bytes.len() > self.limit {
            let cut = self.bytes.len() - self.limit;
            self.bytes.drain(..cut);
            self.dropped += cut;
        }
    }

    /// Whether anything was dropped.
    pub fn truncated(&mut self) -> bool {
        self.trim();
        self.dropped > 0
    }

    /// The text: a marker line first when output was dropped, then the newest output.
    pub fn text(mut self) -> String {
        self.trim();
        let tail = String::from_utf8_lossy(&self.bytes);
        if self.dropped == 0 {
            tail.into_owned()
        } else {
            format!(
                "[openkit] output truncated: the first {} bytes were dropped, the last {} are shown\n{tail}",
                self.dropped,
                self.bytes.len()
            )
        }
    }
}

/// Why a step was stopped before it ended by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    TimedOut,
    Cancelled,
}

/// Kills what is left of a step: its process group, its leader's descendants and every
/// process carrying its tag; waits until they are gone (bounded).
async fn stop_everything(pid: &PidSlot, tag: &str) {
    if let Some(group) = pid.get().and_then(|&p| RunGroup::new(p, tag.to_string())) {
        group.kill_and_wait(Duration::from_secs(2)).await;
    }
}

/// Runs `step` in `cwd` as `sh -c <command>` with `env` added (and `FORCE_COLOR=0`),
/// until it exits, its timeout passes or `cancel` turns true. Never fails: a step that
/// cannot start is a failed result saying why.
pub async fn run_step(
    runner: &CommandRunner,
    cwd: &Path,
    step: &HookStep,
    env: &[(String, String)],
    mut cancel: watch::Receiver<bool>,
) -> StepResult {
    let mut result = StepResult::pending(&step.id, &step.name, &step.command);
    result.status = StepStatus::Running;
    result.started_at = Some(now_iso());
    let started = Instant::now();
    let timeout = step.timeout();
    let tag = RunGroup::new_tag();
    let pid = PidSlot::default();
    let (tap, mut chunks) = mpsc::unbounded_channel();
    let spec = CommandSpec::new("sh", cwd)
        .arg("-c")
        .arg(&step.command)
        .env("FORCE_COLOR", "0")
        .env(RUN_VAR, &tag)
        .envs(env.iter().map(|(k, v)| (k.clone(), v.clone())))
        .timeout(timeout + BACKSTOP)
        .output_limit(OUTPUT_LIMIT)
        .tap(tap)
        .report_pid(pid.clone());
    let run = runner.run(spec);
    tokio::pin!(run);
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let grace = tokio::time::sleep(Duration::MAX / 4);
    tokio::pin!(grace);
    let mut output = BoundedOutput::new(OUTPUT_LIMIT);
    let mut stopped = None;
    let mut cancel_open = true;
    let finished = loop {
        tokio::select! {
            biased;
            Some(chunk) = chunks.recv() => output.push(&chunk),
            done = &mut run => break Some(done),
            _ = &mut deadline, if stopped.is_none() => {
                stopped = Some(Stop::TimedOut);
                stop_everything(&pid, &tag).await;
                grace.as_mut().reset(tokio::time::Instant::now() + STOP_GRACE);
            }
            changed = async { cancel.wait_for(|c| *c).await.is_ok() }, if stopped.is_none() && cancel_open => {
                if !changed {
                    cancel_open = false;
                    continue;
                }
                stopped = Some(Stop::Cancelled);
                stop_everything(&pid, &tag).await;
                grace.as_mut().reset(tokio::time::Instant::now() + STOP_GRACE);
            }
            _ = &mut grace => break None,
        }
    };
    // Whatever the step left behind (a `nohup ... &` daemon, a `setsid` child) ends with it.
    stop_everything(&pid, &tag).await;
    while let Ok(chunk) = chunks.try_recv() {
        output.push(&chunk);
    }
    let mut note = None;
    match (stopped, finished) {
        (Some(Stop::TimedOut), _) | (None, Some(Err(CommandError::TimedOut { .. }))) => {
            result.status = StepStatus::Failed;
            result.timed_out = true;
            note = Some(format!(
                "[openkit] timed out after {} s; the step and every process it started were stopped",
                timeout.as_secs()
            ));
        }
        (Some(Stop::Cancelled), _) => {
            result.status = StepStatus::Cancelled;
            note = Some(
                "[openkit] cancelled; the step and every process it started were stopped".into(),
            );
        }
        (None, Some(Ok(out))) => {
            result.exit_code = out.code();
            result.status = if out.success() {
                StepStatus::Passed
            } else {
                StepStatus::Failed
            };
        }
        (None, Some(Err(e))) => {
            result.status = StepStatus::Failed;
            note = Some(format!("[openkit] {e}"));
        }
        (None, None) => unreachable!("the grace period starts only after a stop"),
    }
    result.truncated = output.truncated();
    let mut text = output.text();
    if let Some(note) = note {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&note);
    }
    // Output reaches the bus and the dashboard: secrets in it are redacted.
    result.output = crate::redact::redact_text(&text);
    result.completed_at = Some(now_iso());
    result.duration_ms = Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever the chunks and the limit, the kept output is the newest `limit`
        /// bytes of everything written, and the marker counts exactly what was dropped.
        #[test]
        fn bounded_output_is_the_tail_of_the_stream(
            chunks in proptest::collection::vec(proptest::collection::vec(b'a'..=b'z', 0..300), 0..40),
            limit in 1usize..500,
        ) {
            let all: Vec<u8> = chunks.concat();
            let mut out = BoundedOutput::new(limit);
            for chunk in &chunks {
                out.push(chunk);
            }
            let dropped = all.len().saturating_sub(limit);
            proptest::prop_assert_eq!(out.truncated(), dropped > 0);
            let text = out.text();
            let tail = String::from_utf8(all[dropped..].to_vec()).unwrap();
            if dropped == 0 {
                proptest::prop_assert_eq!(text, tail);
            } else {
                let marker = format!(
                    "[openkit] output truncated: the first {dropped} bytes were dropped, the last {} are shown\n",
                    all.len() - dropped
                );
                proptest::prop_assert_eq!(text, format!("{marker}{tail}"));
            }
        }
    }

    #[test]
    fn output_keeps_the_newest_bytes_with_a_marker() {
        let mut out = BoundedOutput::new(4);
        out.push(b"01234");
        out.push(b"56789");
        assert!(out.truncated());
        assert_eq!(
            out.text(),
            "[openkit] output truncated: the first 6 bytes were dropped, the last 4 are shown\n6789"
        );
        let mut small = BoundedOutput::new(10);
        small.push(b"ok\n");
        assert!(!small.truncated());
        assert_eq!(small.text(), "ok\n");
    }
}
