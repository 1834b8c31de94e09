//! Lambda's internal queue for asynchronous (`Event`) invocations: one queue per function, retries of function
//! errors, backoff on throttles and system errors, maximum event age, reserved concurrency 0.
//!
//! Rules (reference §5; [S26] = "How Lambda handles errors and retries with asynchronous invocation", [S27] =
//! "Configuring error handling settings", [S28] = "Capturing records"):
//!
//! - **Dispatch.** An event is dispatched at once on [`AsyncQueues::enqueue`] (the internal poller keeps up) unless
//!   the function's queue is *gated* after a throttle (below). Events wait, oldest first, in the function's queue.
//! - **Function errors** (including timeouts, crashes, out of memory): up to `maximum_retry_attempts` retries (0–2,
//!   default 2 [S27]), **60 s** after the first attempt and **120 s** after the second ("about 1 minute … about 2
//!   minutes" [S26]; deterministic here). After the last allowed attempt fails → `Failed(RetriesExhausted)`.
//! - **Maximum event age** (60–21,600 s, default 6 h [S27]): an attempt may start only while the event's age is
//!   *below* the maximum. Before scheduling a retry the model checks it: if the retry would start at or after
//!   `enqueued + maximum_event_age` the event fails at once with `EventAgeExceeded` (retries exhausted is checked
//!   first). An event still waiting in the queue when its age reaches the maximum fails at that instant.
//! - **Throttles (429)**: the event goes back to the queue (keeping its place: oldest first) and the function's queue
//!   backs off — exponential backoff "from 1 s to a maximum of 5 min" [S26], here **1 s, 2 s, 4 s … 256 s, 300 s,
//!   300 s …**, retried for as long as the maximum event age allows. The backoff is per function queue, not per event
//!   ("with long queues Lambda slows its reads" [S26]); with a single event it is exactly the per-event sequence. While
//!   gated, the queue dispatches at most `window` events at once: the window drops to the number still running at each
//!   throttle; an attempt that ends (not throttled) hands its slot to the next waiting event; at each backoff poll the
//!   window widens to twice the number running (at least 1) to probe for more capacity. A poll round without throttles
//!   resets the backoff to 1 s, and once nothing is waiting the gate opens again. This keeps a saturated function at
//!   its concurrency with about `window` throttled probes per backoff period, instead of one retry per event.
//! - **System errors (5xx)**: the event alone is retried with its own backoff 1 s, 2 s, 4 s … capped at 300 s [S26]
//!   (counted per event), within the maximum event age. It does not gate the queue (it says nothing about capacity).
//! - **Reserved concurrency 0**: the event fails at once, without an attempt or retries [S5][S28], with the condition
//!   `ZeroReservedConcurrency` and `approximateInvokeCount` 0. AWS's page does not name the condition; this is the
//!   value LocalStack's AWS-parity implementation writes (localstack/localstack,
//!   `localstack-core/localstack/services/lambda_/invocation/event_manager.py`; inference, not in the reference).
//!   The platform decides it ([`crate::Platform::async_admission`]) and the event sources pass it to
//!   [`AsyncQueues::enqueue`].
//! - **`approximateInvokeCount`** = the attempts that ran (ended as success or function error); throttled attempts and
//!   system errors are not invocations of the function and are re-dispatched with the same attempt number.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::SECOND_NS;

/// How the platform admits an `Event` invocation of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncAdmission {
    /// Into the function's queue: attempts, retries and destinations follow.
    Queue,
    /// The function's reserved concurrency is 0: the event fails at once, without an attempt or retries.
    ZeroReservedConcurrency,
}

/// Delay before the 2nd and the 3rd attempt after a function error [S26].
const FUNCTION_ERROR_RETRY_DELAYS_NS: [u64; 2] = [60 * SECOND_NS, 120 * SECOND_NS];
/// First throttle / system-error backoff [S26].
const BACKOFF_INITIAL_NS: u64 = SECOND_NS;
/// Backoff cap, "a maximum of 5 minutes" [S26].
const BACKOFF_MAX_NS: u64 = 300 * SECOND_NS;

/// A function's asynchronous invocation settings (`PutFunctionEventInvokeConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncConfig {
    /// Retries after function errors: 0–2 (default 2).
    pub maximum_retry_attempts: u32,
    /// Maximum event age: 60–21,600 s (default 6 h).
    pub maximum_event_age_ns: u64,
}

impl Default for AsyncConfig {
    fn default() -> Self {
        AsyncConfig {
            maximum_retry_attempts: 2,
            maximum_event_age_ns: 6 * 3600 * SECOND_NS,
        }
    }
}

/// How one dispatched attempt ended, as the driver saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    Success,
    /// The handler failed: error, timeout, crash or out of memory.
    FunctionError,
    /// The platform refused the invocation with a 429.
    Throttled,
    /// The platform failed the invocation with a 5xx.
    SystemError,
}

/// Why an event failed for good: `requestContext.condition` of the invocation record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureCondition {
    RetriesExhausted,
    EventAgeExceeded,
    /// The function's reserved concurrency is 0: never attempted.
    ZeroReservedConcurrency,
}

impl FailureCondition {
    /// Lambda's spelling in the invocation record.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCondition::RetriesExhausted => "RetriesExhausted",
            FailureCondition::EventAgeExceeded => "EventAgeExceeded",
            FailureCondition::ZeroReservedConcurrency => "ZeroReservedConcurrency",
        }
    }
}

/// A timer the async queues asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AsyncTimer {
    /// `event` may be attempted again (after a function error's 60/120 s, or a system error's backoff).
    Retry { event: u64 },
    /// `function`'s queue ends a throttle backoff and polls again.
    Poll { function: usize },
    /// The oldest waiting event of `function` may have reached its maximum age.
    Expire { function: usize },
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsyncAction {
    /// Invoke `function` with event `event` now (`attempt` is 1-based; a re-dispatch after a throttle or system error
    /// keeps the number).
    Dispatch {
        event: u64,
        function: usize,
        attempt: u32,
    },
    /// The event succeeded on attempt `attempts` (1 = first try): on-success destination.
    Delivered {
        event: u64,
        function: usize,
        attempts: u32,
        enqueued_ns: u64,
    },
    /// The event failed for good: on-failure destination / DLQ record (`attempts` = `approximateInvokeCount`).
    Failed {
        event: u64,
        function: usize,
        condition: FailureCondition,
        attempts: u32,
        enqueued_ns: u64,
    },
    /// Call [`AsyncQueues::timer`] with `timer` at `at_ns`.
    SetTimer { at_ns: u64, timer: AsyncTimer },
}

/// Per-function counts. At any time `enqueued = delivered + retries_exhausted + event_age_exceeded +
/// zero_reserved_concurrency + waiting + in_flight` (checked by [`AsyncCounters::balanced`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AsyncCounters {
    pub enqueued: u64,
    /// `Dispatch` actions, including those that were throttled.
    pub dispatched: u64,
    /// Attempts that ran (success or function error): the sum of `approximateInvokeCount`s.
    pub attempts: u64,
    pub function_errors: u64,
    pub throttles: u64,
    pub system_errors: u64,
    pub delivered: u64,
    pub retries_exhausted: u64,
    pub event_age_exceeded: u64,
    pub zero_reserved_concurrency: u64,
    /// Events waiting in the queue or for a retry (not in flight).
    pub waiting: u64,
    /// Events dispatched and not yet reported back.
    pub in_flight: u64,
}

impl AsyncCounters {
    /// Events that ended for good.
    pub fn ended(&self) -> u64 {
        self.delivered
            + self.retries_exhausted
            + self.event_age_exceeded
            + self.zero_reserved_concurrency
    }

    /// Whether every enqueued event is accounted for exactly once.
    pub fn balanced(&self) -> bool {
        self.enqueued == self.ended() + self.waiting + self.in_flight
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventState {
    /// In the function's queue, ready to dispatch.
    Queued,
    InFlight,
    /// Waiting for a `Retry` timer.
    Retrying,
}

#[derive(Debug)]
struct Event {
    function: usize,
    enqueued_ns: u64,
    /// Attempts that ran.
    attempts: u32,
    /// System errors so far (the event's own backoff exponent).
    system_errors: u32,
    state: EventState,
}

/// One function's queue and its throttle gate.
#[derive(Debug)]
struct FunctionQueue {
    config: AsyncConfig,
    /// Events ready to dispatch, oldest first: `(enqueued_ns, event)`.
    queued: BTreeSet<(u64, u64)>,
    /// `None`: open (dispatch everything). `Some(w)`: gated after a throttle, at most `w` in flight.
    window: Option<u64>,
    /// The wait before the next poll while gated.
    backoff_ns: u64,
    /// A throttle happened since the last poll (or closed the gate).
    throttled_since_poll: bool,
    /// The pending `Poll` timer.
    poll_at: Option<u64>,
    /// The earliest pending `Expire` timer.
    expire_at: Option<u64>,
    counters: AsyncCounters,
}

/// The asynchronous invocation queues of all functions (index = function id).
#[derive(Debug)]
pub struct AsyncQueues {
    functions: Vec<FunctionQueue>,
    events: BTreeMap<u64, Event>,
    next_event: u64,
    out: VecDeque<AsyncAction>,
}

impl AsyncQueues {
    /// One queue per function, with that function's settings.
    pub fn new(configs: Vec<AsyncConfig>) -> Self {
        let functions = configs
            .into_iter()
            .map(|config| FunctionQueue {
                config,
                queued: BTreeSet::new(),
                window: None,
                backoff_ns: BACKOFF_INITIAL_NS,
                throttled_since_poll: false,
                poll_at: None,
                expire_at: None,
                counters: AsyncCounters::default(),
            })
            .collect();
        AsyncQueues {
            functions,
            events: BTreeMap::new(),
            next_event: 0,
            out: VecDeque::new(),
        }
    }

    /// An `Event` invoke of `function` arrived (the caller got its 202), admitted as the platform said; returns the
    /// event id. With reserved concurrency 0 the event fails at once (`ZeroReservedConcurrency`, 0 attempts).
    pub fn enqueue(&mut self, now_ns: u64, function: usize, admission: AsyncAdmission) -> u64 {
        let event = self.next_event;
        self.next_event += 1;
        let q = &mut self.functions[function];
        q.counters.enqueued += 1;
        if admission == AsyncAdmission::ZeroReservedConcurrency {
            q.counters.zero_reserved_concurrency += 1;
            self.out.push_back(AsyncAction::Failed {
                event,
                function,
                condition: FailureCondition::ZeroReservedConcurrency,
                attempts: 0,
                enqueued_ns: now_ns,
            });
            return event;
        }
        q.counters.waiting += 1;
        q.queued.insert((now_ns, event));
        self.events.insert(
            event,
            Event {
                function,
                enqueued_ns: now_ns,
                attempts: 0,
                system_errors: 0,
                state: EventState::Queued,
            },
        );
        self.pump(now_ns, function);
        event
    }

    /// A dispatched attempt of `event` ended (or was throttled). Unknown events and events not in flight are ignored.
    pub fn attempt_finished(&mut self, now_ns: u64, event: u64, result: AttemptResult) {
        let Some(ev) = self.events.get_mut(&event) else {
            return;
        };
        if ev.state != EventState::InFlight {
            return;
        }
        let function = ev.function;
        let enqueued_ns = ev.enqueued_ns;
        let q = &mut self.functions[function];
        q.counters.in_flight -= 1;
        let deadline = enqueued_ns.saturating_add(q.config.maximum_event_age_ns);
        match result {
            AttemptResult::Success => {
                ev.attempts += 1;
                let attempts = ev.attempts;
                q.counters.attempts += 1;
                q.counters.delivered += 1;
                self.events.remove(&event);
                self.out.push_back(AsyncAction::Delivered {
                    event,
                    function,
                    attempts,
                    enqueued_ns,
                });
            }
            AttemptResult::FunctionError => {
                ev.attempts += 1;
                let attempts = ev.attempts;
                q.counters.attempts += 1;
                q.counters.function_errors += 1;
                if attempts > q.config.maximum_retry_attempts {
                    self.fail(event, FailureCondition::RetriesExhausted);
                } else {
                    let i = (attempts as usize - 1).min(FUNCTION_ERROR_RETRY_DELAYS_NS.len() - 1);
                    let at = now_ns.saturating_add(FUNCTION_ERROR_RETRY_DELAYS_NS[i]);
                    self.retry_at(event, at, deadline);
                }
            }
            AttemptResult::SystemError => {
                ev.system_errors += 1;
                let n = ev.system_errors;
                q.counters.system_errors += 1;
                let at = now_ns.saturating_add(backoff_delay(n - 1));
                self.retry_at(event, at, deadline);
            }
            AttemptResult::Throttled => {
                ev.state = EventState::Queued;
                q.counters.throttles += 1;
                q.counters.waiting += 1;
                q.queued.insert((enqueued_ns, event));
                // What is still running is what the function can take now.
                q.window = Some(q.counters.in_flight);
                q.throttled_since_poll = true;
                if q.poll_at.is_none() {
                    q.backoff_ns = BACKOFF_INITIAL_NS;
                    let at = now_ns.saturating_add(q.backoff_ns);
                    q.poll_at = Some(at);
                    self.out.push_back(AsyncAction::SetTimer {
                        at_ns: at,
                        timer: AsyncTimer::Poll { function },
                    });
                }
            }
        }
        self.pump(now_ns, function);
    }

    /// A timer set by a `SetTimer` action fired.
    pub fn timer(&mut self, now_ns: u64, timer: AsyncTimer) {
        match timer {
            AsyncTimer::Retry { event } => {
                let Some(ev) = self.events.get_mut(&event) else {
                    return;
                };
                if ev.state != EventState::Retrying {
                    return;
                }
                ev.state = EventState::Queued;
                let function = ev.function;
                self.functions[function]
                    .queued
                    .insert((ev.enqueued_ns, event));
                self.pump(now_ns, function);
            }
            AsyncTimer::Poll { function } => {
                let q = &mut self.functions[function];
                // Timers are never cancelled; a live driver may fire them a little late.
                if q.poll_at.is_none_or(|t| t > now_ns) {
                    return;
                }
                q.poll_at = None;
                q.backoff_ns = if q.throttled_since_poll {
                    (q.backoff_ns * 2).min(BACKOFF_MAX_NS)
                } else {
                    BACKOFF_INITIAL_NS
                };
                let throttled = std::mem::take(&mut q.throttled_since_poll);
                if q.queued.is_empty() && !throttled {
                    q.window = None;
                    q.backoff_ns = BACKOFF_INITIAL_NS;
                    return;
                }
                let running = q.counters.in_flight;
                let widened = (2 * running).max(1);
                q.window = Some(q.window.unwrap_or(0).max(widened));
                let at = now_ns.saturating_add(q.backoff_ns);
                q.poll_at = Some(at);
                self.out.push_back(AsyncAction::SetTimer {
                    at_ns: at,
                    timer: AsyncTimer::Poll { function },
                });
                self.pump(now_ns, function);
            }
            AsyncTimer::Expire { function } => {
                let q = &mut self.functions[function];
                if q.expire_at.is_some_and(|t| t <= now_ns) {
                    q.expire_at = None;
                }
                self.arm_expiry(now_ns, function);
            }
        }
    }

    /// The next action to carry out, if any.
    pub fn poll_action(&mut self) -> Option<AsyncAction> {
        self.out.pop_front()
    }

    /// Events of `function` waiting (in the queue or for a retry), not in flight.
    pub fn depth(&self, function: usize) -> u64 {
        self.functions[function].counters.waiting
    }

    /// Events of `function` dispatched and not yet reported back.
    pub fn in_flight(&self, function: usize) -> u64 {
        self.functions[function].counters.in_flight
    }

    /// `function`'s counts (conservation: [`AsyncCounters::balanced`]).
    pub fn counters(&self, function: usize) -> &AsyncCounters {
        &self.functions[function].counters
    }

    /// Every event that has not ended, in id order: `(event, function, attempts that ran)` — what a shutdown
    /// writes out as unprocessed.
    pub fn unended(&self) -> impl Iterator<Item = (u64, usize, u32)> + '_ {
        self.events
            .iter()
            .map(|(&id, e)| (id, e.function, e.attempts))
    }

    /// When a live event was enqueued (for the queue-delay histogram); `None` once it ended.
    pub fn enqueued_ns(&self, event: u64) -> Option<u64> {
        self.events.get(&event).map(|e| e.enqueued_ns)
    }

    /// Whether `function`'s queue is gated after a throttle.
    pub fn is_backing_off(&self, function: usize) -> bool {
        self.functions[function].window.is_some()
    }

    /// Schedules another attempt of the (just finished) `event` at `at`, or fails it if that is too late.
    fn retry_at(&mut self, event: u64, at: u64, deadline: u64) {
        if at >= deadline {
            self.fail(event, FailureCondition::EventAgeExceeded);
            return;
        }
        let Some(ev) = self.events.get_mut(&event) else {
            return;
        };
        ev.state = EventState::Retrying;
        self.functions[ev.function].counters.waiting += 1;
        self.out.push_back(AsyncAction::SetTimer {
            at_ns: at,
            timer: AsyncTimer::Retry { event },
        });
    }

    /// Ends `event` (not counted as waiting or in flight any more) with `condition`.
    fn fail(&mut self, event: u64, condition: FailureCondition) {
        let Some(ev) = self.events.remove(&event) else {
            return;
        };
        let c = &mut self.functions[ev.function].counters;
        match condition {
            FailureCondition::RetriesExhausted => c.retries_exhausted += 1,
            FailureCondition::EventAgeExceeded => c.event_age_exceeded += 1,
            FailureCondition::ZeroReservedConcurrency => c.zero_reserved_concurrency += 1,
        }
        self.out.push_back(AsyncAction::Failed {
            event,
            function: ev.function,
            condition,
            attempts: ev.attempts,
            enqueued_ns: ev.enqueued_ns,
        });
    }

    /// Dispatches queued events of `function` while its window allows, oldest first.
    fn pump(&mut self, now_ns: u64, function: usize) {
        loop {
            let q = &mut self.functions[function];
            if q.window.is_some_and(|w| q.counters.in_flight >= w) {
                break;
            }
            let Some((enqueued_ns, event)) = q.queued.pop_first() else {
                break;
            };
            q.counters.waiting -= 1;
            if now_ns >= enqueued_ns.saturating_add(q.config.maximum_event_age_ns) {
                self.fail(event, FailureCondition::EventAgeExceeded);
                continue;
            }
            q.counters.in_flight += 1;
            q.counters.dispatched += 1;
            let Some(ev) = self.events.get_mut(&event) else {
                continue;
            };
            ev.state = EventState::InFlight;
            self.out.push_back(AsyncAction::Dispatch {
                event,
                function,
                attempt: ev.attempts + 1,
            });
        }
        self.arm_expiry(now_ns, function);
    }

    /// Fails the queued events of `function` whose age reached the maximum.
    fn expire(&mut self, now_ns: u64, function: usize) {
        loop {
            let q = &mut self.functions[function];
            let max_age = q.config.maximum_event_age_ns;
            match q.queued.first() {
                Some(&(enqueued_ns, event)) if now_ns >= enqueued_ns.saturating_add(max_age) => {
                    q.queued.pop_first();
                    q.counters.waiting -= 1;
                    self.fail(event, FailureCondition::EventAgeExceeded);
                }
                _ => break,
            }
        }
    }

    /// Fails the queued events of `function` that are too old, then makes sure an `Expire` timer is pending for the
    /// oldest one left (so no timer is ever set in the past).
    fn arm_expiry(&mut self, now_ns: u64, function: usize) {
        self.expire(now_ns, function);
        let q = &mut self.functions[function];
        let Some(&(enqueued_ns, _)) = q.queued.first() else {
            return;
        };
        let due = enqueued_ns.saturating_add(q.config.maximum_event_age_ns);
        if q.expire_at.is_none_or(|t| due < t) {
            q.expire_at = Some(due);
            self.out.push_back(AsyncAction::SetTimer {
                at_ns: due,
                timer: AsyncTimer::Expire { function },
            });
        }
    }
}

/// The `n`-th backoff (0-based): 1 s, 2 s, 4 s … capped at 300 s.
fn backoff_delay(n: u32) -> u64 {
    if n >= 9 {
        return BACKOFF_MAX_NS;
    }
    (BACKOFF_INITIAL_NS << n).min(BACKOFF_MAX_NS)
}
