//! The discrete-event queue: events ordered by (time, sequence number), so equal times keep insertion order and a
//! run is reproducible. A binary heap: O(log n) per event whatever the number of live sandboxes.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<E> {
    time_ns: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time_ns, self.seq) == (other.time_ns, other.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, the earliest event must come out first.
        (other.time_ns, other.seq).cmp(&(self.time_ns, self.seq))
    }
}

/// A time-ordered queue of events.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Queues `event` at `time_ns`; returns its sequence number (unique in this queue).
    pub fn push(&mut self, time_ns: u64, event: E) -> u64 {
        self.seq += 1;
        self.heap.push(Entry {
            time_ns,
            seq: self.seq,
            event,
        });
        self.seq
    }

    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.time_ns)
    }

    /// The earliest event: its time, sequence number and itself.
    pub fn pop(&mut self) -> Option<(u64, u64, E)> {
        self.heap.pop().map(|e| (e.time_ns, e.seq, e.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_ties_in_insertion_order() {
        let mut q = EventQueue::default();
        q.push(5, "b");
        q.push(1, "a");
        q.push(5, "c");
        assert_eq!(q.pop(), Some((1, 2, "a")));
        assert_eq!(q.pop(), Some((5, 1, "b")));
        assert_eq!(q.pop(), Some((5, 3, "c")));
        assert_eq!(q.pop(), None);
    }
}
