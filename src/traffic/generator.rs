//! [`TrafficGenerator`]: merges every phase's arrivals into one time-ordered stream.
//!
//! A min-heap keyed by (time, phase, sequence) holds at most one pending arrival per open-loop phase and one per
//! closed-loop user, so memory does not grow with the number of arrivals. Each phase draws from its own RNG streams,
//! seeded from (scenario seed, phase index, stream): one for arrival times and think times, one for payload
//! samples. Adding a phase therefore does not change the others' arrivals, and rendering a template does not shift
//! arrival times.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::payload::PayloadSource;
use super::process::Process;
use super::replay::ReplayStream;
use super::trace::{TraceArrival, TraceStream};
use super::{Arrival, UserId};
use crate::limits::NS_PER_MS;
use crate::scenario::{Distribution, InvocationType, Pattern, Scenario, ScenarioError, Target};

/// RNG streams of a phase.
const STREAM_ARRIVALS: u64 = 0;
const STREAM_PAYLOAD: u64 = 1;

/// Marks a heap entry of an open-loop phase.
const NO_USER: u32 = u32::MAX;

/// The heap's phase number of `[trace]` arrivals: after every phase, so phases win ties.
const TRACE_PHASE: u32 = u32::MAX;

/// A scheduled arrival. Ordered by time, then phase, then the phase's sequence number: deterministic ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    time_ns: u64,
    phase: u32,
    seq: u64,
    user: u32,
}

#[derive(Debug)]
struct PhaseState {
    target: Target,
    invocation: InvocationType,
    end_ns: u64,
    seq: u64,
    arrival_rng: StdRng,
    payload_rng: StdRng,
    payload: PayloadSource,
    kind: Kind,
    /// Payload of the pending arrival when its replayed row named a file.
    pending_payload: Option<Bytes>,
    ping: bool,
}

#[derive(Debug)]
enum Kind {
    Open(Process),
    Closed {
        users: u32,
        think_time_ms: Distribution,
    },
}

/// The time-ordered stream of a scenario's requests. See the module documentation.
#[derive(Debug)]
pub struct TrafficGenerator {
    heap: BinaryHeap<Reverse<Pending>>,
    phases: Vec<PhaseState>,
    error: Option<ScenarioError>,
    /// The `[trace]` replay and its next arrival (at most one in the heap).
    trace: Option<TraceStream>,
    trace_pending: Option<TraceArrival>,
    trace_seq: u64,
}

impl TrafficGenerator {
    /// Prepares every phase: opens and checks replay traces (errors name the trace's file and line) and schedules
    /// each phase's first arrival and each closed-loop user's first request (at the phase start).
    pub fn new(scenario: &Scenario) -> Result<Self, ScenarioError> {
        let seed = scenario.simulation.seed;
        let mut generator = TrafficGenerator {
            heap: BinaryHeap::new(),
            phases: Vec::with_capacity(scenario.traffic.len()),
            error: None,
            trace: None,
            trace_pending: None,
            trace_seq: 0,
        };
        if let Some(spec) = &scenario.trace {
            generator.trace = Some(TraceStream::open(
                spec,
                seed,
                scenario.simulation.duration_ns,
            )?);
            generator.schedule_trace();
        }
        for (index, phase) in scenario.traffic.iter().enumerate() {
            let kind = match &phase.pattern {
                Pattern::ClosedLoop {
                    users,
                    think_time_ms,
                } => Kind::Closed {
                    users: *users,
                    think_time_ms: think_time_ms.clone(),
                },
                Pattern::Replay { file } => {
                    let target = match phase.target {
                        Target::Function(f) => {
                            scenario.functions.get(f).map(|f| ("function", &f.name))
                        }
                        Target::Queue(q) => scenario.queues.get(q).map(|q| ("queue", &q.name)),
                    };
                    let (kind, name) = target.map_or(("function", ""), |(k, n)| (k, n.as_str()));
                    let stream = ReplayStream::open(
                        file,
                        &scenario.path,
                        (kind, name),
                        phase.start_ns,
                        phase.end_ns,
                    )?;
                    Kind::Open(Process::Replay(Box::new(stream)))
                }
                _ => Kind::Open(Process::new(phase)),
            };
            generator.phases.push(PhaseState {
                target: phase.target,
                invocation: phase.invocation,
                end_ns: phase.end_ns,
                seq: 0,
                arrival_rng: phase_rng(seed, index, STREAM_ARRIVALS),
                payload_rng: phase_rng(seed, index, STREAM_PAYLOAD),
                payload: PayloadSource::new(&phase.payload),
                kind,
                pending_payload: None,
                ping: phase.ping,
            });
            let state = &mut generator.phases[index];
            match &mut state.kind {
                Kind::Open(_) => generator.schedule_open(index),
                Kind::Closed { users, .. } => {
                    if phase.start_ns < phase.end_ns {
                        for user in 0..*users {
                            let seq = state.seq;
                            state.seq += 1;
                            generator.heap.push(Reverse(Pending {
                                time_ns: phase.start_ns,
                                phase: index as u32,
                                seq,
                                user,
                            }));
                        }
                    }
                }
            }
        }
        Ok(generator)
    }

    /// The time of the next arrival, if one is scheduled. `None` can be temporary: closed-loop users send again after
    /// [`TrafficGenerator::on_response`].
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(p)| p.time_ns)
    }

    /// The next arrival, in non-decreasing time order across all phases; ties go to the lower phase index, then to
    /// the earlier scheduled.
    pub fn pop(&mut self) -> Option<Arrival> {
        let Reverse(pending) = self.heap.pop()?;
        if pending.phase == TRACE_PHASE {
            let arrival = self.trace_pending.take()?;
            self.schedule_trace();
            return Some(Arrival {
                time_ns: arrival.time_ns,
                target: Target::Function(arrival.function),
                invocation: InvocationType::RequestResponse,
                payload: arrival.payload,
                user: None,
                ping: false,
            });
        }
        let index = pending.phase as usize;
        let state = &mut self.phases[index];
        let payload = match state.pending_payload.take() {
            Some(bytes) => bytes,
            None => state.payload.render(&mut state.payload_rng),
        };
        let arrival = Arrival {
            time_ns: pending.time_ns,
            target: state.target,
            invocation: state.invocation,
            payload,
            user: (pending.user != NO_USER).then_some(UserId {
                phase: pending.phase,
                user: pending.user,
            }),
            ping: state.ping,
        };
        if matches!(state.kind, Kind::Open(_)) {
            self.schedule_open(index);
        }
        Some(arrival)
    }

    /// A closed-loop user's response arrived at `done_ns`: after a think time (drawn from the phase's
    /// `think_time_ms`, negative draws count as 0) the user sends its next request, unless that falls at or after the
    /// phase end. Ignores users that are not closed-loop users of this scenario.
    pub fn on_response(&mut self, user: UserId, done_ns: u64) {
        let Some(state) = self.phases.get_mut(user.phase as usize) else {
            return;
        };
        let Kind::Closed {
            users,
            think_time_ms,
        } = &state.kind
        else {
            return;
        };
        if user.user >= *users {
            return;
        }
        let think_ms = think_time_ms.sample(&mut state.arrival_rng);
        let think_ns = if think_ms > 0.0 {
            (think_ms * NS_PER_MS as f64).round().min(u64::MAX as f64) as u64
        } else {
            0
        };
        let time_ns = done_ns.saturating_add(think_ns);
        if time_ns >= state.end_ns {
            return;
        }
        let seq = state.seq;
        state.seq += 1;
        self.heap.push(Reverse(Pending {
            time_ns,
            phase: user.phase,
            seq,
            user: user.user,
        }));
    }

    /// An error met while streaming a replay trace after [`TrafficGenerator::new`] checked it (the file changed in
    /// between); that phase stopped early. `None` normally.
    pub fn replay_error(&self) -> Option<&ScenarioError> {
        self.error.as_ref()
    }

    /// Reads the trace's next arrival and schedules it; a read error ends the replay (see `replay_error`).
    fn schedule_trace(&mut self) {
        let Some(trace) = &mut self.trace else {
            return;
        };
        match trace.next_arrival() {
            Ok(Some(arrival)) => {
                let seq = self.trace_seq;
                self.trace_seq += 1;
                self.heap.push(Reverse(Pending {
                    time_ns: arrival.time_ns,
                    phase: TRACE_PHASE,
                    seq,
                    user: NO_USER,
                }));
                self.trace_pending = Some(arrival);
            }
            Ok(None) => self.trace = None,
            Err(e) => {
                self.trace = None;
                self.error.get_or_insert(e);
            }
        }
    }

    /// Draws the next arrival of open-loop phase `index` and schedules it, if it falls before the phase end.
    fn schedule_open(&mut self, index: usize) {
        let state = &mut self.phases[index];
        let Kind::Open(process) = &mut state.kind else {
            return;
        };
        match process.next(&mut state.arrival_rng) {
            Ok(Some((time_ns, payload))) if time_ns < state.end_ns => {
                state.pending_payload = payload;
                let seq = state.seq;
                state.seq += 1;
                self.heap.push(Reverse(Pending {
                    time_ns,
                    phase: index as u32,
                    seq,
                    user: NO_USER,
                }));
            }
            Ok(_) => {}
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }
}

/// The RNG of one stream of one phase: independent of every other phase and stream.
fn phase_rng(seed: u64, phase: usize, stream: u64) -> StdRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(phase as u64).to_le_bytes());
    key[16..24].copy_from_slice(&stream.to_le_bytes());
    key[24..].copy_from_slice(b"lsim-trf");
    StdRng::from_seed(key)
}
