//! Durable logs: the activity feed and the operational log, both JSONL files under
//! `.openkit/`, with filters, `since` cursors and retention.

mod activity;
mod cursor;
mod jsonl;
mod ops;

pub use activity::{ActivityEvent, ActivityLog, ActivityQuery};
pub use cursor::{now_iso, parse_since, parse_ts};
pub use jsonl::{Cursor, IndexMeta, JsonlStore, LogRecord, Retention, RetentionImpact, hash_id};
pub use ops::{CommandInfo, Level, OpStatus, OpsLog, OpsLogEvent, OpsQuery};

#[cfg(test)]
mod tests;
