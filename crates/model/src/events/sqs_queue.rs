//! The simulated SQS standard queue's side of [`Sqs`]: the messages, their visibility, retention, deletion and
//! redrive to a dead-letter queue. The rules are in the [`super::sqs`] module doc.

use std::collections::BTreeSet;

use super::sqs::{QueueConfig, QueueCounters, Sqs, SqsAction, SqsTimer};

#[derive(Debug)]
pub(super) struct Message {
    pub(super) queue: usize,
    pub(super) body_index: u64,
    pub(super) sent_ns: u64,
    /// Arrival in its current queue (send, or the move to the dead-letter queue).
    pub(super) arrived_ns: u64,
    pub(super) receive_count: u32,
    /// The batch that received it last (in this queue).
    pub(super) batch: Option<u64>,
    /// Received and hidden; otherwise visible.
    pub(super) in_flight: bool,
}

#[derive(Debug)]
pub(super) struct QueueState {
    pub(super) config: QueueConfig,
    /// Visible messages, oldest send first: `(sent_ns, id)`.
    pub(super) visible: BTreeSet<(u64, u64)>,
    /// Every message in the queue, oldest arrival first: `(arrived_ns, id)`.
    pub(super) resident: BTreeSet<(u64, u64)>,
    /// The earliest pending `Retention` timer.
    pub(super) retention_at: Option<u64>,
    /// Mappings reading this queue, in index order.
    pub(super) mappings: Vec<usize>,
    pub(super) counters: QueueCounters,
}

impl Sqs {
    /// Whether `queue` has visible messages (used by the scaling rules).
    pub(super) fn has_visible(&self, queue: usize) -> bool {
        self.queues
            .get(queue)
            .is_some_and(|q| !q.visible.is_empty())
    }

    /// `batch`'s visibility timeout ended: the messages it still holds become visible (or expire).
    pub(super) fn visibility_ends(&mut self, now_ns: u64, batch: u64) {
        let Some(b) = self.batches.get_mut(&batch) else {
            return;
        };
        if now_ns < b.deadline_ns {
            return;
        }
        // A batch still running keeps its list: its result may name these messages.
        let held = if b.running {
            b.messages.clone()
        } else {
            self.batches
                .remove(&batch)
                .map(|b| b.messages)
                .unwrap_or_default()
        };
        let mut queues = BTreeSet::new();
        for id in held {
            let Some(msg) = self.messages.get_mut(&id) else {
                continue;
            };
            if msg.batch != Some(batch) || !msg.in_flight {
                continue;
            }
            msg.in_flight = false;
            let (queue, sent_ns) = (msg.queue, msg.sent_ns);
            let q = &mut self.queues[queue];
            q.counters.in_flight -= 1;
            if now_ns >= sent_ns.saturating_add(q.config.retention_ns) {
                self.expire(id);
            } else {
                q.counters.visible += 1;
                q.visible.insert((sent_ns, id));
                queues.insert(queue);
            }
        }
        for queue in queues {
            self.arm_retention(now_ns, queue);
            self.pump_queue(now_ns, queue);
        }
    }

    /// Deletes a message after the batch that received it last succeeded.
    pub(super) fn delete(&mut self, id: u64) {
        let Some(msg) = self.messages.remove(&id) else {
            return;
        };
        let q = &mut self.queues[msg.queue];
        if msg.in_flight {
            q.counters.in_flight -= 1;
        } else {
            q.counters.visible -= 1;
            q.visible.remove(&(msg.sent_ns, id));
        }
        q.counters.deleted += 1;
        q.resident.remove(&(msg.arrived_ns, id));
        self.out.push_back(SqsAction::Deleted {
            queue: msg.queue,
            message: id,
            sent_ns: msg.sent_ns,
            receive_count: msg.receive_count,
        });
    }

    /// Removes a message whose retention passed (already out of the visible and in-flight counts).
    pub(super) fn expire(&mut self, id: u64) {
        let Some(msg) = self.messages.remove(&id) else {
            return;
        };
        let q = &mut self.queues[msg.queue];
        q.counters.expired += 1;
        q.resident.remove(&(msg.arrived_ns, id));
        self.out.push_back(SqsAction::Expired {
            queue: msg.queue,
            message: id,
        });
    }

    /// Moves a message (already out of the visible count) to the dead-letter queue `dlq`.
    pub(super) fn redrive(&mut self, now_ns: u64, id: u64, dlq: usize) {
        let Some(msg) = self.messages.get_mut(&id) else {
            return;
        };
        let from = msg.queue;
        let receive_count = msg.receive_count;
        let src = &mut self.queues[from];
        src.counters.redriven += 1;
        src.resident.remove(&(msg.arrived_ns, id));
        msg.queue = dlq;
        msg.arrived_ns = now_ns;
        msg.receive_count = 0;
        msg.batch = None;
        msg.in_flight = false;
        let sent_ns = msg.sent_ns;
        let to = &mut self.queues[dlq];
        to.counters.redriven_in += 1;
        to.counters.visible += 1;
        to.visible.insert((sent_ns, id));
        to.resident.insert((now_ns, id));
        self.out.push_back(SqsAction::Redriven {
            queue: from,
            message: id,
            receive_count,
            dead_letter_queue: dlq,
        });
        self.arm_retention(now_ns, dlq);
        if !self.dirty.contains(&dlq) {
            self.dirty.push(dlq);
        }
    }

    /// Expires the visible messages of `queue` whose retention has passed (oldest first).
    pub(super) fn expire_due(&mut self, now_ns: u64, queue: usize) {
        loop {
            let q = &mut self.queues[queue];
            match q.visible.first() {
                Some(&(sent_ns, id)) if now_ns >= sent_ns.saturating_add(q.config.retention_ns) => {
                    q.visible.pop_first();
                    q.counters.visible -= 1;
                    self.expire(id);
                }
                _ => break,
            }
        }
    }

    /// Expires the visible messages of `queue` that are too old, then makes sure a `Retention` timer is pending for
    /// the oldest one left (so no timer is ever set in the past).
    pub(super) fn arm_retention(&mut self, now_ns: u64, queue: usize) {
        self.expire_due(now_ns, queue);
        let q = &mut self.queues[queue];
        let Some(&(sent_ns, _)) = q.visible.first() else {
            return;
        };
        let due = sent_ns.saturating_add(q.config.retention_ns);
        if q.retention_at.is_none_or(|t| due < t) {
            q.retention_at = Some(due);
            self.out.push_back(SqsAction::SetTimer {
                at_ns: due,
                timer: SqsTimer::Retention { queue },
            });
        }
    }
}
