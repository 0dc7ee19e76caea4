//! A bounded byte ring that keeps exactly the newest bytes of a stream.

use std::collections::VecDeque;

/// The newest `capacity` bytes of everything pushed, plus the total count.
#[derive(Debug, Clone)]
pub struct ScrollbackRing {
    bytes: VecDeque<u8>,
    capacity: usize,
    total: u64,
}

impl ScrollbackRing {
    /// A ring keeping at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        ScrollbackRing {
            bytes: VecDeque::with_capacity(capacity.min(1 << 20)),
            capacity,
            total: 0,
        }
    }

    /// Appends a chunk, dropping the oldest bytes beyond the capacity.
    pub fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        let keep = chunk.len().min(self.capacity);
        let chunk = &chunk[chunk.len() - keep..];
        let overflow = (self.bytes.len() + chunk.len()).saturating_sub(self.capacity);
        self.bytes.drain(..overflow);
        self.bytes.extend(chunk);
    }

    /// The kept bytes, oldest first.
    pub fn contents(&self) -> Vec<u8> {
        self.bytes.iter().copied().collect()
    }

    /// Bytes pushed since creation: a position that only grows.
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn keeps_exactly_the_newest_bytes(capacity in 0usize..64, chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..20)) {
            let mut ring = ScrollbackRing::new(capacity);
            let mut all = Vec::new();
            let mut last_total = 0;
            for chunk in &chunks {
                ring.push(chunk);
                all.extend_from_slice(chunk);
                prop_assert!(ring.total() >= last_total);
                last_total = ring.total();
            }
            let expected = &all[all.len().saturating_sub(capacity)..];
            prop_assert_eq!(ring.contents(), expected.to_vec());
            prop_assert_eq!(ring.total(), all.len() as u64);
        }
    }
}
