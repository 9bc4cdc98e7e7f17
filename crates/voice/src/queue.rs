//! Back-pressure between the voice receiver and the transcription workers.
//!
//! Each speaker gets a bounded [`UtteranceQueue`]. When transcription falls behind, the
//! oldest waiting utterance is dropped (with a warning) rather than letting audio pile up
//! without bound: at a game table the latest thing said matters most.

use std::collections::VecDeque;

/// A bounded FIFO that drops its oldest item when full.
#[derive(Debug, Clone)]
pub struct UtteranceQueue<T> {
    items: VecDeque<T>,
    capacity: usize,
    dropped: u64,
    label: String,
}

impl<T> UtteranceQueue<T> {
    /// A queue holding at most `capacity` (at least 1) items; `label` (e.g. the speaker)
    /// appears in the warning logged when an item is dropped.
    pub fn new(capacity: usize, label: impl Into<String>) -> Self {
        let capacity = capacity.max(1);
        UtteranceQueue {
            items: VecDeque::with_capacity(capacity),
            capacity,
            dropped: 0,
            label: label.into(),
        }
    }

    /// Adds an item; when full, drops and returns the oldest one.
    pub fn push(&mut self, item: T) -> Option<T> {
        let evicted = if self.items.len() >= self.capacity {
            self.dropped += 1;
            tracing::warn!(
                speaker = %self.label,
                capacity = self.capacity,
                dropped_total = self.dropped,
                "transcription is falling behind: dropped the oldest queued utterance"
            );
            self.items.pop_front()
        } else {
            None
        };
        self.items.push_back(item);
        evicted
    }

    /// Takes the oldest item.
    pub fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many items were dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_below_capacity() {
        let mut q = UtteranceQueue::new(3, "alice");
        assert!(q.push(1).is_none());
        assert!(q.push(2).is_none());
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), Some(2));
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
    }

    #[test]
    fn drops_the_oldest_when_full() {
        let mut q = UtteranceQueue::new(2, "bob");
        q.push("a");
        q.push("b");
        assert_eq!(q.push("c"), Some("a"));
        assert_eq!(q.push("d"), Some("b"));
        assert_eq!(q.len(), 2);
        assert_eq!(q.dropped(), 2);
        assert_eq!(q.pop(), Some("c"));
        assert_eq!(q.pop(), Some("d"));
    }

    #[test]
    fn capacity_is_at_least_one() {
        let mut q = UtteranceQueue::new(0, "carol");
        assert_eq!(q.capacity(), 1);
        q.push(1);
        assert_eq!(q.push(2), Some(1));
        assert_eq!(q.pop(), Some(2));
    }
}
