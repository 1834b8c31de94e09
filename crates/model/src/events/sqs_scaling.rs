//! The SQS event source mapping's poller scaling: how many batches a mapping may have in flight, and how that
//! changes with backlog, idleness, function errors and throttles.
//!
//! Numbers (reference §10, [S38] "Configuring scaling behavior for SQS event source mappings"): a mapping starts
//! with **5** concurrent batches, "adds up to **300** concurrent invokes per minute" while messages wait, up to
//! **1,250** (or its `maximum_concurrency`, 2–1,000), and "scales down to 5, and as low as 2, when idle". On function
//! errors Lambda "backs off (reduces ESM concurrency)", except with `ReportBatchItemFailures`, where it "doesn't scale
//! down polling on failures". How much, and how often, AWS does not say; the rules below are this model's choices.
//!
//! The target is re-evaluated once a minute (a `Scale` timer per active mapping, first armed when the mapping first
//! sees messages), from what happened during that minute, in this order:
//!
//! 1. a batch **failed as a whole** (and `report_batch_item_failures` is off) → halve, not below 5;
//! 2. a batch was **throttled** → hold (the throttle already lowered the target, below);
//! 3. the mapping was **saturated** (all its slots busy while messages were visible) → **+300**, capped at
//!    `maximum_concurrency` or 1,250. So 5 → 305 → 605 … after each minute of backlog;
//! 4. the mapping did **nothing** (no batch in flight all minute) → halve, not below 2;
//! 5. otherwise (busy but never short of slots) → halve, but not below the minute's peak of batches in flight, nor 5.
//!
//! The `Scale` timer stops once the mapping has no batch in flight and its queue no visible message, so an idle run
//! ends; when messages come back, each whole idle minute since the last evaluation halves the target (not below 2),
//! and the mapping then processes at least 5 batches at a time again ("When messages are available, Lambda starts
//! processing five batches at a time").
//! All targets are capped at the mapping's maximum (so `maximum_concurrency = 2` keeps 2 from the start).
//!
//! **Throttles.** The model does not know the function's reserved concurrency; it learns it from the throttles the
//! driver reports. A throttled batch lowers the target at once to the number of batches still running (what the
//! function took), so completions hand their slot to the next batch without further throttles. If that leaves no
//! batch running, a `ThrottleBackoff` timer (1 s, doubling to 60 s on repeated throttles, reset by any batch that
//! ran) lets one batch try again. The next throttle-free saturated minute adds 300 again — as on AWS, a mapping
//! without `maximum_concurrency` above a function's reserved concurrency keeps getting throttled now and then, and
//! throttled messages keep their receive count (the pitfall `maximum_concurrency` exists for [S38]).

use super::SECOND_NS;
use super::sqs::{MappingConfig, MappingCounters, Sqs, SqsAction, SqsTimer};

/// Concurrent batches a mapping starts with, and the floor while it is busy.
const INITIAL_CONCURRENCY: u32 = 5;
/// The floor when idle ("as low as 2").
const IDLE_FLOOR: u32 = 2;
/// Concurrency added per minute of backlog.
const SCALE_UP_PER_MINUTE: u32 = 300;
/// Maximum without `maximum_concurrency`.
const DEFAULT_MAXIMUM_CONCURRENCY: u32 = 1_250;
/// The scaling period.
const MINUTE_NS: u64 = 60 * SECOND_NS;
/// First wait after a throttle that left nothing running, and its cap (inference: one scaling period).
const THROTTLE_BACKOFF_INITIAL_NS: u64 = SECOND_NS;
const THROTTLE_BACKOFF_MAX_NS: u64 = 60 * SECOND_NS;

/// What happened during the current scaling minute.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Minute {
    pub(super) saturated: bool,
    pub(super) failed: bool,
    pub(super) throttled: bool,
    pub(super) peak_in_flight: u32,
}

impl Minute {
    fn starting_with(in_flight: u32) -> Minute {
        Minute {
            peak_in_flight: in_flight,
            ..Minute::default()
        }
    }
}

/// One mapping's poller state.
#[derive(Debug)]
pub(super) struct MappingState {
    pub(super) config: MappingConfig,
    /// `maximum_concurrency` or 1,250.
    pub(super) max: u32,
    /// Batches it may have in flight.
    pub(super) target: u32,
    pub(super) in_flight: u32,
    /// When the current batching window started.
    pub(super) window_start: Option<u64>,
    /// The earliest pending `BatchingWindow` timer.
    pub(super) window_at: Option<u64>,
    /// The pending `Scale` timer.
    scale_at: Option<u64>,
    pub(super) last_eval_ns: u64,
    pub(super) minute: Minute,
    throttle_backoff_ns: u64,
    /// The pending `ThrottleBackoff` timer.
    backoff_at: Option<u64>,
    pub(super) counters: MappingCounters,
}

impl MappingState {
    pub(super) fn new(config: MappingConfig) -> Self {
        let max = config
            .maximum_concurrency
            .unwrap_or(DEFAULT_MAXIMUM_CONCURRENCY)
            .max(1);
        MappingState {
            config,
            max,
            target: INITIAL_CONCURRENCY.min(max),
            in_flight: 0,
            window_start: None,
            window_at: None,
            scale_at: None,
            last_eval_ns: 0,
            minute: Minute::default(),
            throttle_backoff_ns: THROTTLE_BACKOFF_INITIAL_NS,
            backoff_at: None,
            counters: MappingCounters::default(),
        }
    }
}

impl Sqs {
    /// The mapping has work: make sure its `Scale` timer runs, first applying the idle minutes since it stopped.
    pub(super) fn ensure_scale_timer(&mut self, now_ns: u64, mapping: usize) {
        let m = &mut self.mappings[mapping];
        if m.scale_at.is_some() {
            return;
        }
        let idle_minutes = now_ns.saturating_sub(m.last_eval_ns) / MINUTE_NS;
        // 1,250 halves to 2 in 10 steps; more changes nothing.
        for _ in 0..idle_minutes.min(16) {
            m.target = (m.target / 2).max(IDLE_FLOOR.min(m.max));
        }
        // "When messages are available, Lambda starts processing five batches at a time" [S38]: the idle floor of 2
        // is the pollers' at rest, not what a backlog gets.
        m.target = m.target.max(INITIAL_CONCURRENCY.min(m.max));
        m.last_eval_ns = now_ns;
        m.minute = Minute::starting_with(m.in_flight);
        let at = now_ns.saturating_add(MINUTE_NS);
        m.scale_at = Some(at);
        self.out.push_back(SqsAction::SetTimer {
            at_ns: at,
            timer: SqsTimer::Scale { mapping },
        });
    }

    /// A scaling minute of `mapping` is over: re-evaluate its target (rules in the module doc).
    pub(super) fn scale_tick(&mut self, now_ns: u64, mapping: usize) {
        let queue = self.mappings[mapping].config.queue;
        let active = self.has_visible(queue) || self.mappings[mapping].in_flight > 0;
        let m = &mut self.mappings[mapping];
        if m.scale_at.is_none_or(|t| t > now_ns) {
            return;
        }
        m.scale_at = None;
        let minute = std::mem::replace(&mut m.minute, Minute::starting_with(m.in_flight));
        let busy_floor = INITIAL_CONCURRENCY.min(m.max);
        m.target = if minute.failed {
            (m.target / 2).max(busy_floor)
        } else if minute.throttled {
            m.target
        } else if minute.saturated {
            m.target.saturating_add(SCALE_UP_PER_MINUTE)
        } else if minute.peak_in_flight == 0 {
            (m.target / 2).max(IDLE_FLOOR)
        } else {
            (m.target / 2).max(minute.peak_in_flight).max(busy_floor)
        }
        .min(m.max);
        m.last_eval_ns = now_ns;
        if active {
            let at = now_ns.saturating_add(MINUTE_NS);
            m.scale_at = Some(at);
            self.out.push_back(SqsAction::SetTimer {
                at_ns: at,
                timer: SqsTimer::Scale { mapping },
            });
        }
        self.pump_mapping(now_ns, mapping);
    }

    /// A batch of `mapping` ran (it was not throttled); `whole_batch_failed`: it failed as a whole.
    pub(super) fn batch_ran(&mut self, mapping: usize, whole_batch_failed: bool) {
        let m = &mut self.mappings[mapping];
        m.throttle_backoff_ns = THROTTLE_BACKOFF_INITIAL_NS;
        if whole_batch_failed && !m.config.report_batch_item_failures {
            m.minute.failed = true;
        }
    }

    /// A batch of `mapping` was throttled (its `in_flight` already counts it out).
    pub(super) fn batch_throttled(&mut self, now_ns: u64, mapping: usize) {
        let m = &mut self.mappings[mapping];
        m.target = m.target.min(m.in_flight);
        m.minute.throttled = true;
        if m.backoff_at.is_none() {
            let at = now_ns.saturating_add(m.throttle_backoff_ns);
            m.backoff_at = Some(at);
            m.throttle_backoff_ns = (m.throttle_backoff_ns * 2).min(THROTTLE_BACKOFF_MAX_NS);
            self.out.push_back(SqsAction::SetTimer {
                at_ns: at,
                timer: SqsTimer::ThrottleBackoff { mapping },
            });
        }
    }

    /// `mapping`'s throttle backoff is over: if nothing is allowed to run, let one batch try.
    pub(super) fn throttle_backoff_ends(&mut self, now_ns: u64, mapping: usize) {
        let m = &mut self.mappings[mapping];
        if m.backoff_at.is_none_or(|t| t > now_ns) {
            return;
        }
        m.backoff_at = None;
        m.target = m.target.max(1);
        self.pump_mapping(now_ns, mapping);
    }
}
