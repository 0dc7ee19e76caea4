//! Port offsets: each running worktree leases the lowest free multiple of `offsetStep`
//! (starting at 1× the step), so two running worktrees never share an offset.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Offset leases by worktree id.
#[derive(Debug, Default)]
pub struct OffsetAllocator {
    leases: Mutex<BTreeMap<String, u32>>,
}

impl OffsetAllocator {
    /// No leases.
    pub fn new() -> Self {
        OffsetAllocator::default()
    }

    /// The worktree's lease, or a new one: the lowest multiple of `step` (≥ 1× step) no
    /// other worktree holds.
    pub fn lease(&self, worktree_id: &str, step: u32) -> u32 {
        let step = step.max(1);
        let mut leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(offset) = leases.get(worktree_id) {
            return *offset;
        }
        let taken: std::collections::BTreeSet<u32> = leases.values().copied().collect();
        let offset = (1..)
            .map(|k: u32| k.saturating_mul(step))
            .find(|o| !taken.contains(o))
            .expect("an offset is free");
        leases.insert(worktree_id.to_string(), offset);
        offset
    }

    /// Gives the worktree's offset back.
    pub fn release(&self, worktree_id: &str) {
        self.leases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(worktree_id);
    }

    /// The current lease of a worktree.
    pub fn get(&self, worktree_id: &str) -> Option<u32> {
        self.leases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(worktree_id)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lowest_free_multiple() {
        let a = OffsetAllocator::new();
        assert_eq!(a.lease("a", 10), 10);
        assert_eq!(a.lease("b", 10), 20);
        assert_eq!(a.lease("a", 10), 10, "a lease is stable");
        a.release("a");
        assert_eq!(a.lease("c", 10), 10, "released offsets are reused");
    }

    proptest! {
        #[test]
        fn leases_are_distinct_lowest_free_multiples(ops in proptest::collection::vec((0u8..8, any::<bool>()), 1..60), step in 1u32..1000) {
            let a = OffsetAllocator::new();
            for (wt, release) in ops {
                let id = format!("wt{wt}");
                if release {
                    a.release(&id);
                    continue;
                }
                let held: Vec<u32> = a.leases.lock().unwrap().iter().filter(|(k, _)| **k != id).map(|(_, v)| *v).collect();
                let existing = a.get(&id);
                let offset = a.lease(&id, step);
                prop_assert_eq!(offset % step, 0);
                prop_assert!(offset >= step);
                prop_assert!(!held.contains(&offset));
                if existing.is_none() {
                    // Lowest free: every smaller multiple is held by someone else.
                    for k in 1..offset / step {
                        prop_assert!(held.contains(&(k * step)));
                    }
                }
            }
        }
    }
}
