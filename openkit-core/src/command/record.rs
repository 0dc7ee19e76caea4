//! What observers (the ops log) learn about each command, already redacted.

use std::path::PathBuf;
use std::time::Duration;

use crate::redact::{REDACTED, redact_text};

/// The most output of one stream a record keeps (head and tail, with a marker between).
pub const RECORD_OUTPUT_LIMIT: usize = 64 * 1024;

/// Secret values shorter than this are not searched for in records (too many false hits).
const MIN_SECRET_LEN: usize = 8;

/// What a finished command looked like, for observers such as the ops log.
///
/// Records built by the [`CommandRunner`](super::CommandRunner) are redacted before any
/// observer sees them: secret shapes in the arguments and output (URL user-info, bearer
/// tokens, `token=` parameters, well-known token prefixes) and the literal value of every
/// secret the child was allowed to receive.
#[derive(Debug, Clone)]
pub struct CommandRecord {
    /// The program (`git`, `sh`, an installer's path).
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Exit code, when it exited normally.
    pub exit_code: Option<i32>,
    /// Wall-clock duration.
    pub duration: Duration,
    /// Standard output (at most [`RECORD_OUTPUT_LIMIT`] bytes; observers may cut more).
    pub stdout: String,
    /// Standard error (at most [`RECORD_OUTPUT_LIMIT`] bytes). When the command timed
    /// out or could not start, it ends with a line saying so.
    pub stderr: String,
    /// True when OpenKit killed the command's process group because it ran past its
    /// timeout.
    pub timed_out: bool,
}

impl CommandRecord {
    /// The record with secret shapes and the given secret values replaced by
    /// [`REDACTED`], and each output stream cut to [`RECORD_OUTPUT_LIMIT`].
    pub fn redacted(mut self, secret_values: &[String]) -> Self {
        let clean = |text: &str| {
            let mut text = redact_text(text);
            for value in secret_values {
                if value.len() >= MIN_SECRET_LEN && text.contains(value.as_str()) {
                    text = text.replace(value.as_str(), REDACTED);
                }
            }
            text
        };
        self.command = clean(&self.command);
        self.args = self.args.iter().map(|a| clean(a)).collect();
        self.stdout = clean(&cut(&self.stdout, RECORD_OUTPUT_LIMIT));
        self.stderr = clean(&cut(&self.stderr, RECORD_OUTPUT_LIMIT));
        self
    }
}

/// Something that wants to know about every command OpenKit runs.
pub trait CommandObserver: Send + Sync {
    /// Called after each command finishes (successfully, with a failure, by timeout, or
    /// when it could not start).
    fn command_finished(&self, record: &CommandRecord);
}

/// `text` when it fits in `max` bytes, else its head and tail around a marker.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let half = max / 2;
    let mut head = half;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - half;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[… {} bytes omitted …]\n{}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(args: &[&str], stdout: &str) -> CommandRecord {
        CommandRecord {
            command: "git".into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            cwd: PathBuf::from("/repo"),
            exit_code: Some(0),
            duration: Duration::from_millis(5),
            stdout: stdout.into(),
            stderr: String::new(),
            timed_out: false,
        }
    }

    #[test]
    fn redacts_shapes_and_allowed_values() {
        let r = record(
            &["push", "https://me:hunter2hunter2@example.com/x.git"],
            "npm notice: using s3cr3t-value-123 now",
        )
        .redacted(&["s3cr3t-value-123".into(), "short".into()]);
        assert_eq!(r.args[1], "https://[REDACTED]@example.com/x.git");
        assert_eq!(r.stdout, "npm notice: using [REDACTED] now");
        let again = r.clone().redacted(&[]);
        assert_eq!(again.args, r.args, "redacting twice changes nothing");
    }

    #[test]
    fn long_output_keeps_head_and_tail() {
        let text = format!("{}é{}", "a".repeat(40_000), "b".repeat(40_000));
        let r = record(&[], &text).redacted(&[]);
        assert!(r.stdout.len() < RECORD_OUTPUT_LIMIT + 64);
        assert!(r.stdout.starts_with("aaaa") && r.stdout.ends_with("bbbb"));
        assert!(r.stdout.contains("bytes omitted"));
        assert_eq!(cut("short", 10), "short");
    }
}
