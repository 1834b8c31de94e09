//! Tests of the asynchronous invocation queues: retry delays, backoff sequence, maximum event age, reserved
//! concurrency 0, the throttle gate, conservation and determinism — with numbers, through a tiny discrete-event
//! driver.

use std::collections::BTreeMap;

use super::SECOND_NS;
use super::async_queue::*;

const S: u64 = SECOND_NS;

#[derive(Debug, Clone, Copy)]
enum Ev {
    Timer(AsyncTimer),
    Finish(u64, AttemptResult),
}

/// A minimal driver: timers and completions in a time-ordered queue; `cap` plays the platform's concurrency limit
/// (a dispatch beyond it is reported as throttled at once, as the real driver does).
struct Sim<P: FnMut(u64, u32) -> (AttemptResult, u64)> {
    q: AsyncQueues,
    now: u64,
    queue: BTreeMap<(u64, u64), Ev>,
    seq: u64,
    running: usize,
    peak_running: usize,
    cap: Option<usize>,
    policy: P,
    /// Every action but `SetTimer`, with its time.
    log: Vec<(u64, AsyncAction)>,
}

impl<P: FnMut(u64, u32) -> (AttemptResult, u64)> Sim<P> {
    fn new(configs: Vec<AsyncConfig>, cap: Option<usize>, policy: P) -> Self {
        Sim {
            q: AsyncQueues::new(configs),
            now: 0,
            queue: BTreeMap::new(),
            seq: 0,
            running: 0,
            peak_running: 0,
            cap,
            policy,
            log: Vec::new(),
        }
    }

    fn at(&mut self, t: u64, ev: Ev) {
        self.queue.insert((t, self.seq), ev);
        self.seq += 1;
    }

    fn drain(&mut self) {
        while let Some(a) = self.q.poll_action() {
            match a {
                AsyncAction::SetTimer { at_ns, timer } => self.at(at_ns, Ev::Timer(timer)),
                AsyncAction::Dispatch { event, attempt, .. } => {
                    self.log.push((self.now, a.clone()));
                    if self.cap.is_some_and(|c| self.running >= c) {
                        self.q
                            .attempt_finished(self.now, event, AttemptResult::Throttled);
                        continue;
                    }
                    let (result, duration) = (self.policy)(event, attempt);
                    if result == AttemptResult::Throttled {
                        self.q.attempt_finished(self.now, event, result);
                        continue;
                    }
                    self.running += 1;
                    self.peak_running = self.peak_running.max(self.running);
                    let t = self.now + duration;
                    self.at(t, Ev::Finish(event, result));
                }
                other => self.log.push((self.now, other)),
            }
        }
    }

    fn enqueue(&mut self, t: u64, function: usize) -> u64 {
        self.run_until(t);
        self.now = t;
        let id = self.q.enqueue(t, function, AsyncAdmission::Queue);
        self.drain();
        id
    }

    fn run_until(&mut self, end: u64) {
        while let Some(entry) = self.queue.first_entry() {
            let (t, _) = *entry.key();
            if t > end {
                break;
            }
            let ev = entry.remove();
            self.now = t;
            match ev {
                Ev::Timer(timer) => self.q.timer(t, timer),
                Ev::Finish(event, result) => {
                    self.running -= 1;
                    self.q.attempt_finished(t, event, result);
                }
            }
            self.drain();
        }
    }

    fn dispatch_times(&self, event: u64) -> Vec<u64> {
        self.log
            .iter()
            .filter(|(_, a)| matches!(a, AsyncAction::Dispatch { event: e, .. } if *e == event))
            .map(|(t, _)| *t)
            .collect()
    }

    fn end_of(&self, event: u64) -> Option<(u64, AsyncAction)> {
        self.log
            .iter()
            .find(|(_, a)| match a {
                AsyncAction::Delivered { event: e, .. } | AsyncAction::Failed { event: e, .. } => {
                    *e == event
                }
                _ => false,
            })
            .cloned()
    }
}

fn config(retries: u32, max_age_s: u64) -> AsyncConfig {
    AsyncConfig {
        maximum_retry_attempts: retries,
        maximum_event_age_ns: max_age_s * S,
    }
}

#[test]
fn function_errors_retry_after_60_then_120_seconds_then_retries_exhausted() {
    let mut sim = Sim::new(vec![AsyncConfig::default()], None, |_, _| {
        (AttemptResult::FunctionError, S)
    });
    let e = sim.enqueue(0, 0);
    sim.run_until(u64::MAX);
    // Attempt 1 at 0 fails at 1 s; attempt 2 at 1 + 60; fails at 62; attempt 3 at 62 + 120.
    assert_eq!(sim.dispatch_times(e), vec![0, 61 * S, 182 * S]);
    let attempts: Vec<u32> = sim
        .log
        .iter()
        .filter_map(|(_, a)| match a {
            AsyncAction::Dispatch { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    assert_eq!(
        sim.end_of(e),
        Some((
            183 * S,
            AsyncAction::Failed {
                event: e,
                function: 0,
                condition: FailureCondition::RetriesExhausted,
                attempts: 3,
                enqueued_ns: 0
            }
        ))
    );
    let c = sim.q.counters(0);
    assert_eq!(
        (c.attempts, c.function_errors, c.retries_exhausted),
        (3, 3, 1)
    );
    assert!(c.balanced());
}

#[test]
fn maximum_retry_attempts_limits_the_attempts() {
    for (retries, expected) in [(0u32, 1u32), (1, 2)] {
        let mut sim = Sim::new(vec![config(retries, 21_600)], None, |_, _| {
            (AttemptResult::FunctionError, S)
        });
        let e = sim.enqueue(0, 0);
        sim.run_until(u64::MAX);
        assert_eq!(sim.dispatch_times(e).len(), expected as usize);
        match sim.end_of(e) {
            Some((
                _,
                AsyncAction::Failed {
                    condition,
                    attempts,
                    ..
                },
            )) => {
                assert_eq!(condition, FailureCondition::RetriesExhausted);
                assert_eq!(attempts, expected);
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}

#[test]
fn success_on_a_retry_is_delivered_with_its_attempt_count() {
    let mut sim = Sim::new(vec![AsyncConfig::default()], None, |_, attempt| {
        if attempt == 1 {
            (AttemptResult::FunctionError, 2 * S)
        } else {
            (AttemptResult::Success, 3 * S)
        }
    });
    let e = sim.enqueue(5 * S, 0);
    sim.run_until(u64::MAX);
    assert_eq!(sim.dispatch_times(e), vec![5 * S, 67 * S]);
    assert_eq!(
        sim.end_of(e),
        Some((
            70 * S,
            AsyncAction::Delivered {
                event: e,
                function: 0,
                attempts: 2,
                enqueued_ns: 5 * S
            }
        ))
    );
    assert_eq!(sim.q.counters(0).delivered, 1);
    assert_eq!(sim.q.enqueued_ns(e), None, "an ended event is forgotten");
}

#[test]
fn a_retry_that_would_start_after_the_maximum_age_fails_with_event_age_exceeded() {
    // Max age 90 s: the retry at 61 s is allowed, the one at 62 + 120 s is not: the event fails when attempt 2 ends.
    let mut sim = Sim::new(vec![config(2, 90)], None, |_, _| {
        (AttemptResult::FunctionError, S)
    });
    let e = sim.enqueue(0, 0);
    sim.run_until(u64::MAX);
    assert_eq!(sim.dispatch_times(e), vec![0, 61 * S]);
    assert_eq!(
        sim.end_of(e),
        Some((
            62 * S,
            AsyncAction::Failed {
                event: e,
                function: 0,
                condition: FailureCondition::EventAgeExceeded,
                attempts: 2,
                enqueued_ns: 0
            }
        ))
    );
}

#[test]
fn an_attempt_must_start_before_the_maximum_age() {
    // The error comes back at once (0 s); the retry would start at exactly 60 s.
    let fail_now = |_, _| (AttemptResult::FunctionError, 0);
    let mut at_limit = Sim::new(vec![config(2, 60)], None, fail_now);
    let e = at_limit.enqueue(0, 0);
    at_limit.run_until(u64::MAX);
    assert!(matches!(
        at_limit.end_of(e),
        Some((
            0,
            AsyncAction::Failed {
                condition: FailureCondition::EventAgeExceeded,
                attempts: 1,
                ..
            }
        ))
    ));
    let mut one_more_second = Sim::new(vec![config(2, 61)], None, fail_now);
    let e = one_more_second.enqueue(0, 0);
    one_more_second.run_until(u64::MAX);
    assert_eq!(one_more_second.dispatch_times(e), vec![0, 60 * S]);
}

#[test]
fn reserved_concurrency_zero_fails_at_once_without_an_attempt() {
    let mut q = AsyncQueues::new(vec![AsyncConfig::default()]);
    let e = q.enqueue(7 * S, 0, AsyncAdmission::ZeroReservedConcurrency);
    assert_eq!(
        q.poll_action(),
        Some(AsyncAction::Failed {
            event: e,
            function: 0,
            condition: FailureCondition::ZeroReservedConcurrency,
            attempts: 0,
            enqueued_ns: 7 * S
        })
    );
    assert_eq!(q.poll_action(), None, "no dispatch, no timer");
    let c = q.counters(0);
    assert_eq!(
        (c.enqueued, c.dispatched, c.zero_reserved_concurrency),
        (1, 0, 1)
    );
    assert!(c.balanced());
    assert_eq!(
        FailureCondition::ZeroReservedConcurrency.as_str(),
        "ZeroReservedConcurrency"
    );
}

#[test]
fn throttles_back_off_1s_doubling_to_300s_until_the_maximum_age() {
    let mut sim = Sim::new(vec![AsyncConfig::default()], None, |_, _| {
        (AttemptResult::Throttled, 0)
    });
    let e = sim.enqueue(0, 0);
    sim.run_until(u64::MAX);
    let times = sim.dispatch_times(e);
    let gaps: Vec<u64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]) / S)
        .take(12)
        .collect();
    assert_eq!(gaps, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    assert!(times.iter().all(|&t| t < 6 * 3600 * S));
    // Throttled dispatches are not invocations: the attempt number stays 1 and the record says 0.
    assert!(
        sim.log
            .iter()
            .all(|(_, a)| !matches!(a, AsyncAction::Dispatch { attempt, .. } if *attempt != 1))
    );
    assert_eq!(
        sim.end_of(e),
        Some((
            6 * 3600 * S,
            AsyncAction::Failed {
                event: e,
                function: 0,
                condition: FailureCondition::EventAgeExceeded,
                attempts: 0,
                enqueued_ns: 0
            }
        ))
    );
    let c = sim.q.counters(0);
    assert_eq!(c.throttles, times.len() as u64);
    assert!(c.balanced());
}

#[test]
fn system_errors_back_off_per_event_and_keep_the_attempt_number() {
    let mut sim = Sim::new(vec![config(2, 100)], None, |_, _| {
        (AttemptResult::SystemError, 0)
    });
    let e = sim.enqueue(0, 0);
    sim.run_until(u64::MAX);
    // 0, +1, +2, +4, +8, +16, +32 = 63; the next (+64 = 127 s) would be past 100 s.
    assert_eq!(
        sim.dispatch_times(e),
        vec![0, S, 3 * S, 7 * S, 15 * S, 31 * S, 63 * S]
    );
    assert!(matches!(
        sim.end_of(e),
        Some((t, AsyncAction::Failed { condition: FailureCondition::EventAgeExceeded, attempts: 0, .. })) if t == 63 * S
    ));
    assert!(
        !sim.q.is_backing_off(0),
        "system errors do not gate the queue"
    );
}

#[test]
fn a_throttled_queue_keeps_the_function_at_its_concurrency_with_few_throttles() {
    // The platform takes 3 at a time; 100 events of 10 s each arrive at once.
    let mut sim = Sim::new(vec![AsyncConfig::default()], Some(3), |_, _| {
        (AttemptResult::Success, 10 * S)
    });
    for _ in 0..100 {
        sim.enqueue(0, 0);
    }
    assert_eq!(sim.q.depth(0), 97);
    assert_eq!(sim.q.in_flight(0), 3);
    assert!(sim.q.is_backing_off(0));
    sim.run_until(u64::MAX);
    let c = *sim.q.counters(0);
    assert_eq!(c.delivered, 100);
    assert_eq!(sim.peak_running, 3);
    // 34 rounds of 10 s: slots are handed over at each completion, without waiting for a backoff.
    let last = sim
        .log
        .iter()
        .rev()
        .find(|(_, a)| matches!(a, AsyncAction::Delivered { .. }))
        .map(|(t, _)| *t);
    assert_eq!(last, Some(340 * S));
    // The first throttle, then 3 probes at each poll (1, 3, 7, 15, 31, 63, 127, 255 s) while events wait.
    assert_eq!(c.throttles, 1 + 3 * 8);
    assert!(c.balanced());
    // Later the gate opens again: a new event is dispatched at once.
    sim.enqueue(2000 * S, 0);
    assert!(!sim.q.is_backing_off(0));
    assert_eq!(sim.q.in_flight(0), 1);
}

#[test]
fn queued_events_fail_when_their_age_reaches_the_maximum() {
    // One slot, a 100 s handler, max age 60 s: the two events behind it never start.
    let mut sim = Sim::new(vec![config(2, 60)], Some(1), |_, _| {
        (AttemptResult::Success, 100 * S)
    });
    let first = sim.enqueue(0, 0);
    let second = sim.enqueue(0, 0);
    let third = sim.enqueue(10 * S, 0);
    sim.run_until(u64::MAX);
    assert!(
        matches!(sim.end_of(first), Some((t, AsyncAction::Delivered { attempts: 1, .. })) if t == 100 * S)
    );
    for (e, t) in [(second, 60 * S), (third, 70 * S)] {
        assert_eq!(
            sim.end_of(e),
            Some((
                t,
                AsyncAction::Failed {
                    event: e,
                    function: 0,
                    condition: FailureCondition::EventAgeExceeded,
                    attempts: 0,
                    enqueued_ns: t - 60 * S
                }
            ))
        );
    }
    assert!(sim.q.counters(0).balanced());
}

/// A deterministic "random" verdict from the event id, the attempt and how many dispatches the driver saw.
fn verdict() -> impl FnMut(u64, u32) -> (AttemptResult, u64) {
    let mut calls = 0u64;
    move |event, attempt| {
        calls += 1;
        let h = (event.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(attempt)
            ^ calls.wrapping_mul(0xC2B2_AE3D))
            >> 7;
        let result = match h % 10 {
            0..=5 => AttemptResult::Success,
            6..=8 => AttemptResult::FunctionError,
            _ => AttemptResult::SystemError,
        };
        (result, (h % 5_000) * 1_000_000)
    }
}

fn mixed_run() -> (Vec<(u64, AsyncAction)>, Vec<AsyncCounters>) {
    let mut sim = Sim::new(
        vec![AsyncConfig::default(), config(1, 120)],
        Some(20),
        verdict(),
    );
    for i in 0..5_000u64 {
        sim.enqueue(i * 20_000_000, (i % 2) as usize);
    }
    sim.run_until(u64::MAX);
    let counters = (0..2).map(|f| *sim.q.counters(f)).collect();
    (sim.log, counters)
}

#[test]
fn mixed_runs_are_deterministic_and_every_event_ends_once() {
    let (log_a, counters_a) = mixed_run();
    let (log_b, counters_b) = mixed_run();
    assert_eq!(log_a, log_b);
    assert_eq!(counters_a, counters_b);
    let mut ends = BTreeMap::new();
    for (_, a) in &log_a {
        if let AsyncAction::Delivered { event, .. } | AsyncAction::Failed { event, .. } = a {
            *ends.entry(*event).or_insert(0) += 1;
        }
    }
    assert_eq!(ends.len(), 5_000);
    assert!(ends.values().all(|&n| n == 1));
    for c in &counters_a {
        assert!(c.balanced(), "{c:?}");
        assert_eq!((c.waiting, c.in_flight), (0, 0));
        assert!(
            c.throttles > 0 && c.function_errors > 0 && c.retries_exhausted > 0,
            "{c:?}"
        );
    }
    // Function 1 (max age 120 s) loses events to age; function 0 (6 h) never does.
    assert_eq!(counters_a[0].event_age_exceeded, 0);
    assert!(counters_a[1].event_age_exceeded > 0);
}
