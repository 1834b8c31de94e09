//! The tiny discrete-event driver the SQS tests run the model with: timers and batch completions in a time-ordered
//! queue, a policy deciding each batch's result and duration, and `cap` playing the function's reserved concurrency
//! (a batch beyond it is throttled at once, as the real driver reports it).

use std::collections::BTreeMap;

use super::SECOND_NS;
use super::sqs::*;

pub(super) const S: u64 = SECOND_NS;

#[derive(Debug, Clone)]
pub(super) enum Ev {
    Timer(SqsTimer),
    Finish(u64, BatchResult),
}

pub(super) type Policy = Box<dyn FnMut(u64, &[SqsMessageRef]) -> (BatchResult, u64)>;

/// A minimal driver; `cap` plays the function's reserved concurrency (a batch beyond it is throttled at once).
pub(super) struct Sim {
    pub(super) sqs: Sqs,
    pub(super) now: u64,
    pub(super) queue: BTreeMap<(u64, u64), Ev>,
    pub(super) seq: u64,
    pub(super) running: usize,
    pub(super) peak_running: usize,
    pub(super) cap: Option<usize>,
    pub(super) policy: Policy,
    /// Every action but `SetTimer`, with its time.
    pub(super) log: Vec<(u64, SqsAction)>,
    pub(super) keep_log: bool,
}

impl Sim {
    pub(super) fn new(
        queues: Vec<QueueConfig>,
        mappings: Vec<MappingConfig>,
        cap: Option<usize>,
        policy: Policy,
    ) -> Sim {
        Sim {
            sqs: Sqs::new(queues, mappings),
            now: 0,
            queue: BTreeMap::new(),
            seq: 0,
            running: 0,
            peak_running: 0,
            cap,
            policy,
            log: Vec::new(),
            keep_log: true,
        }
    }

    pub(super) fn at(&mut self, t: u64, ev: Ev) {
        self.queue.insert((t, self.seq), ev);
        self.seq += 1;
    }

    pub(super) fn drain(&mut self) {
        while let Some(a) = self.sqs.poll_action() {
            match a {
                SqsAction::SetTimer { at_ns, timer } => self.at(at_ns, Ev::Timer(timer)),
                SqsAction::InvokeBatch {
                    batch,
                    ref messages,
                    ..
                } => {
                    if self.cap.is_some_and(|c| self.running >= c) {
                        if self.keep_log {
                            self.log.push((self.now, a.clone()));
                        }
                        self.sqs
                            .batch_finished(self.now, batch, BatchResult::Throttled);
                        continue;
                    }
                    let (result, duration) = (self.policy)(self.now, messages);
                    if self.keep_log {
                        self.log.push((self.now, a.clone()));
                    }
                    self.running += 1;
                    self.peak_running = self.peak_running.max(self.running);
                    let t = self.now + duration;
                    self.at(t, Ev::Finish(batch, result));
                }
                other => {
                    if self.keep_log {
                        self.log.push((self.now, other));
                    }
                }
            }
        }
    }

    pub(super) fn start(&mut self, t: u64) {
        self.now = t;
        self.sqs.start(t);
        self.drain();
    }

    pub(super) fn send(&mut self, t: u64, queue: usize, n: u64) {
        self.run_until(t);
        self.now = t;
        for i in 0..n {
            self.sqs.send(t, queue, i);
        }
        self.drain();
    }

    pub(super) fn run_until(&mut self, end: u64) {
        while let Some(entry) = self.queue.first_entry() {
            let (t, _) = *entry.key();
            if t > end {
                break;
            }
            let ev = entry.remove();
            self.now = t;
            match ev {
                Ev::Timer(timer) => self.sqs.timer(t, timer),
                Ev::Finish(batch, result) => {
                    self.running -= 1;
                    self.sqs.batch_finished(t, batch, result);
                }
            }
            self.drain();
        }
    }

    pub(super) fn invocations(&self) -> Vec<(u64, Vec<(u64, u32)>)> {
        self.log
            .iter()
            .filter_map(|(t, a)| match a {
                SqsAction::InvokeBatch { messages, .. } => Some((
                    *t,
                    messages.iter().map(|m| (m.id, m.receive_count)).collect(),
                )),
                _ => None,
            })
            .collect()
    }

    pub(super) fn count(&self, f: impl Fn(&SqsAction) -> bool) -> usize {
        self.log.iter().filter(|(_, a)| f(a)).count()
    }
}

pub(super) fn queue(visibility_s: u64) -> QueueConfig {
    QueueConfig {
        visibility_timeout_ns: visibility_s * S,
        ..QueueConfig::default()
    }
}

pub(super) fn mapping(queue: usize, batch_size: u32) -> MappingConfig {
    MappingConfig {
        queue,
        function: 0,
        batch_size,
        batching_window_ns: 0,
        maximum_concurrency: None,
        report_batch_item_failures: false,
    }
}

pub(super) fn always(result: BatchResult, duration: u64) -> Policy {
    Box::new(move |_, _| (result.clone(), duration))
}

/// A backlog of `n` messages in batches of 10 whose handler takes `duration`.
pub(super) fn backlog(n: u64, maximum_concurrency: Option<u32>, policy: Policy) -> Sim {
    let config = MappingConfig {
        maximum_concurrency,
        ..mapping(0, 10)
    };
    let mut sim = Sim::new(vec![queue(900)], vec![config], None, policy);
    sim.send(0, 0, n);
    sim.start(0);
    sim
}
