//! Durable logs: the activity feed and the operational log, both JSONL files under
//! `.openkit/`, with filters, `since` cursors, retention and a background writer.

mod activity;
mod cursor;
mod jsonl;
mod ops;
pub mod writer;

pub use activity::{ActivityEvent, ActivityLog, ActivityQuery};
pub use cursor::{now_iso, parse_since, parse_ts};
pub use jsonl::{
    Cursor, IndexMeta, JsonlStore, LogRecord, PruneReport, Retention, RetentionImpact, hash_id,
};
pub use ops::{CommandInfo, Level, OpStatus, OpsLog, OpsLogEvent, OpsQuery};
pub use writer::{Enqueued, Losses};

#[cfg(test)]
mod tests;
