//! The event bus: sequenced events, a bounded replay ring, and gap-free subscription.
//!
//! Publishing assigns the next sequence number, pushes into the ring and sends on a
//! `tokio::sync::broadcast` channel, all under one lock; subscribing snapshots the ring and
//! subscribes under the same lock. So a subscriber that resumes from sequence `n` gets
//! exactly the events after `n`: first from the ring, then live, with no gap and no
//! duplicate. When `n` is older than the ring (or from another server process: ids carry
//! a per-process epoch), the subscriber is told to resync from a fresh snapshot instead.
//! A subscriber that falls more than the channel capacity behind sees `Lagged` and must
//! resync the same way; it never slows down the publisher or other subscribers, and the
//! channel bounds the memory it can pin.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

/// An event with its sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequenced<E> {
    /// Monotonic, starting at 1, per bus.
    pub seq: u64,
    /// The event.
    pub event: E,
}

/// How a new subscriber catches up.
#[derive(Debug)]
pub enum Resume<E> {
    /// These events (possibly none) bring the subscriber to the live position.
    Replay(Vec<Arc<Sequenced<E>>>),
    /// The position is unknown or too old: send a fresh snapshot.
    Resync,
}

/// A subscription: how to catch up, then the live receiver.
#[derive(Debug)]
pub struct Subscription<E> {
    /// Catch-up instructions.
    pub resume: Resume<E>,
    /// Live events after the catch-up.
    pub receiver: broadcast::Receiver<Arc<Sequenced<E>>>,
    /// The sequence number of the newest event at subscription time (0 if none).
    pub head: u64,
}

struct Inner<E> {
    next_seq: u64,
    ring: VecDeque<Arc<Sequenced<E>>>,
}

/// A bus of `E` events.
pub struct EventBus<E> {
    inner: Mutex<Inner<E>>,
    sender: broadcast::Sender<Arc<Sequenced<E>>>,
    ring_capacity: usize,
    epoch: String,
}

impl<E> std::fmt::Debug for EventBus<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl<E: Clone + Send + Sync + 'static> EventBus<E> {
    /// A bus keeping the last `ring_capacity` events for replay, with a live channel of
    /// `channel_capacity` events per subscriber before it lags.
    pub fn new(ring_capacity: usize, channel_capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(channel_capacity.max(1));
        EventBus {
            inner: Mutex::new(Inner {
                next_seq: 1,
                ring: VecDeque::with_capacity(ring_capacity),
            }),
            sender,
            ring_capacity: ring_capacity.max(1),
            epoch: uuid::Uuid::new_v4().simple().to_string()[..8].to_string(),
        }
    }

    /// This bus's epoch: distinguishes sequence numbers of different processes.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Publishes an event; returns its sequence number.
    pub fn publish(&self, event: E) -> u64 {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let item = Arc::new(Sequenced { seq, event });
        if inner.ring.len() == self.ring_capacity {
            inner.ring.pop_front();
        }
        inner.ring.push_back(Arc::clone(&item));
        // No receivers is fine: nobody listens right now.
        let _ = self.sender.send(item);
        seq
    }

    /// The newest sequence number (0 before the first event).
    pub fn head(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_seq
            - 1
    }

    /// Subscribes, resuming after `last_seen` (a sequence number of this bus) when given.
    pub fn subscribe(&self, last_seen: Option<u64>) -> Subscription<E> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let head = inner.next_seq - 1;
        let receiver = self.sender.subscribe();
        let resume = match last_seen {
            Some(n) if n == head => Resume::Replay(Vec::new()),
            Some(n) if n < head => {
                let oldest = inner.ring.front().map_or(u64::MAX, |e| e.seq);
                if oldest <= n + 1 {
                    Resume::Replay(inner.ring.iter().filter(|e| e.seq > n).cloned().collect())
                } else {
                    Resume::Resync
                }
            }
            _ => Resume::Resync,
        };
        Subscription {
            resume,
            receiver,
            head,
        }
    }

    /// Formats an SSE id for `seq`: `<epoch>-<seq>`.
    pub fn event_id(&self, seq: u64) -> String {
        format!("{}-{seq}", self.epoch)
    }

    /// Parses an SSE id of this bus; ids of another epoch (another process) give `None`.
    pub fn parse_event_id(&self, id: &str) -> Option<u64> {
        let (epoch, seq) = id.trim().rsplit_once('-')?;
        (epoch == self.epoch).then(|| seq.parse().ok()).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seqs(resume: &Resume<u32>) -> Option<Vec<u64>> {
        match resume {
            Resume::Replay(items) => Some(items.iter().map(|e| e.seq).collect()),
            Resume::Resync => None,
        }
    }

    #[test]
    fn resume_inside_and_outside_the_ring() {
        let bus = EventBus::new(3, 16);
        for i in 0..5 {
            bus.publish(i);
        }
        assert_eq!(seqs(&bus.subscribe(Some(5)).resume), Some(vec![]));
        assert_eq!(seqs(&bus.subscribe(Some(3)).resume), Some(vec![4, 5]));
        assert_eq!(seqs(&bus.subscribe(Some(2)).resume), Some(vec![3, 4, 5]));
        assert_eq!(seqs(&bus.subscribe(Some(1)).resume), None);
        assert_eq!(seqs(&bus.subscribe(Some(9)).resume), None);
        assert_eq!(seqs(&bus.subscribe(None).resume), None);
    }

    #[test]
    fn ids_carry_the_epoch() {
        let a = EventBus::<u8>::new(4, 4);
        let b = EventBus::<u8>::new(4, 4);
        assert_eq!(a.parse_event_id(&a.event_id(42)), Some(42));
        assert_eq!(b.parse_event_id(&a.event_id(42)), None);
        assert_eq!(a.parse_event_id("garbage"), None);
    }

    #[tokio::test]
    async fn live_events_follow_the_replay_without_gap_or_duplicate() {
        let bus = Arc::new(EventBus::new(100, 100));
        for i in 0..10 {
            bus.publish(i);
        }
        let mut sub = bus.subscribe(Some(4));
        let publisher = {
            let bus = Arc::clone(&bus);
            tokio::spawn(async move {
                for i in 10..20 {
                    bus.publish(i);
                }
            })
        };
        let mut seen = seqs(&sub.resume).unwrap();
        while seen.last() != Some(&20) {
            let e = tokio::time::timeout(std::time::Duration::from_secs(5), sub.receiver.recv())
                .await
                .unwrap()
                .unwrap();
            seen.push(e.seq);
        }
        publisher.await.unwrap();
        assert_eq!(seen, (5..=20).collect::<Vec<_>>());
    }

    proptest! {
        #[test]
        fn replay_is_exactly_the_suffix(ring in 1usize..20, published in 0u64..60, last in 0u64..70) {
            let bus = EventBus::new(ring, 8);
            for i in 0..published {
                bus.publish(i);
            }
            match bus.subscribe(Some(last)).resume {
                Resume::Replay(items) => {
                    let got: Vec<u64> = items.iter().map(|e| e.seq).collect();
                    prop_assert_eq!(got, ((last + 1)..=published).collect::<Vec<_>>());
                }
                Resume::Resync => {
                    prop_assert!(last > published || published.saturating_sub(ring as u64) > last);
                }
            }
        }
    }
}
