//! Open-loop arrival processes: each yields its phase's arrival times one at a time, in order, with O(1) state.
//!
//! - constant: the k-th arrival at start + k / rate exactly (no accumulated drift);
//! - poisson: exponential gaps;
//! - ramp, step: non-homogeneous Poisson by exact inversion of the cumulative rate (a unit-rate exponential "budget"
//!   spent along the rate curve: a quadratic for the linear ramp, segment by segment for steps);
//! - sine: non-homogeneous Poisson by thinning (candidates at mean + amplitude, kept with probability rate / max);
//! - spike: `count` sorted uniform times in the window, drawn sequentially as order statistics
//!   (next = x + (1 − x)(1 − U^(1/n)) for n still to draw), so nothing is stored.
//!
//! Times are kept as integer nanoseconds plus a fractional part ([`Clock`]) so that precision does not decay over
//! long phases.

use bytes::Bytes;
use rand::Rng;
use rand::distr::{Distribution as _, StandardUniform};
use rand_distr::Exp1;

use super::replay::ReplayStream;
use crate::scenario::{Pattern, ScenarioError, TrafficPhase};

const NS_PER_S: f64 = 1e9;

/// A point in time: whole nanoseconds plus a fraction in [0, 1).
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    ns: u64,
    frac: f64,
}

impl Clock {
    fn at(ns: u64) -> Self {
        Clock { ns, frac: 0.0 }
    }

    fn advance_ns(&mut self, d: f64) {
        let total = self.frac + d.max(0.0);
        if total >= u64::MAX as f64 {
            self.ns = u64::MAX;
            self.frac = 0.0;
            return;
        }
        let whole = total.floor();
        self.ns = self.ns.saturating_add(whole as u64);
        self.frac = total - whole;
    }

    /// Seconds since `start`.
    fn secs_since(&self, start: u64) -> f64 {
        (self.ns.saturating_sub(start) as f64 + self.frac) / NS_PER_S
    }
}

/// What a process yields: a time, and for replayed rows that name a payload file, that payload.
pub(super) type Next = Option<(u64, Option<Bytes>)>;

#[derive(Debug)]
pub(super) enum Process {
    Constant {
        start: u64,
        period_ns: f64,
        k: u64,
    },
    Poisson {
        clock: Clock,
        mean_gap_ns: f64,
    },
    Ramp {
        start: u64,
        clock: Clock,
        from_rate: f64,
        slope: f64,
    },
    Step {
        clock: Clock,
        steps: Vec<(u64, f64)>,
        seg: usize,
        end: u64,
    },
    Sine {
        start: u64,
        end: u64,
        clock: Clock,
        mean_rate: f64,
        amplitude: f64,
        period_s: f64,
    },
    Spike {
        start: u64,
        window_ns: u64,
        remaining: u64,
        x: f64,
    },
    Replay(Box<ReplayStream>),
    /// `count` arrivals at start, start + every, start + 2·every, …
    Periodic {
        start: u64,
        every_ns: u64,
        count: u32,
        k: u64,
        left: u32,
    },
    /// No (more) arrivals.
    Done,
}

impl Process {
    /// The process of an open-loop phase. Replay phases are built from their opened trace with
    /// `Process::Replay`; closed-loop phases have no process (both give [`Process::Done`] here).
    pub fn new(phase: &TrafficPhase) -> Self {
        let start = phase.start_ns;
        let length_s = phase.end_ns.saturating_sub(phase.start_ns) as f64 / NS_PER_S;
        match &phase.pattern {
            Pattern::Constant { rate } => Process::Constant {
                start,
                period_ns: NS_PER_S / rate,
                k: 0,
            },
            Pattern::Poisson { rate } => Process::Poisson {
                clock: Clock::at(start),
                mean_gap_ns: NS_PER_S / rate,
            },
            Pattern::Ramp { from_rate, to_rate } => Process::Ramp {
                start,
                clock: Clock::at(start),
                from_rate: *from_rate,
                slope: if length_s > 0.0 {
                    (to_rate - from_rate) / length_s
                } else {
                    0.0
                },
            },
            Pattern::Step { steps } => Process::Step {
                clock: Clock::at(start),
                steps: steps
                    .iter()
                    .map(|&(at, rate)| (start.saturating_add(at), rate))
                    .collect(),
                seg: 0,
                end: phase.end_ns,
            },
            Pattern::Sine {
                mean_rate,
                amplitude,
                period_ns,
            } => Process::Sine {
                start,
                end: phase.end_ns,
                clock: Clock::at(start),
                mean_rate: *mean_rate,
                amplitude: *amplitude,
                period_s: *period_ns as f64 / NS_PER_S,
            },
            Pattern::Spike { count, window_ns } => Process::Spike {
                start,
                window_ns: *window_ns,
                remaining: *count,
                x: 0.0,
            },
            Pattern::Periodic { every_ns, count } => Process::Periodic {
                start,
                every_ns: (*every_ns).max(1),
                count: *count,
                k: 0,
                left: *count,
            },
            Pattern::Replay { .. } | Pattern::ClosedLoop { .. } => Process::Done,
        }
    }

    /// The next arrival time (the caller drops it if at or after the phase end). `None` when the process is done.
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Result<Next, ScenarioError> {
        Ok(match self {
            Process::Constant {
                start,
                period_ns,
                k,
            } => {
                let offset = (*k as f64 * *period_ns).round();
                *k += 1;
                if offset >= u64::MAX as f64 {
                    None
                } else {
                    Some((start.saturating_add(offset as u64), None))
                }
            }
            Process::Poisson { clock, mean_gap_ns } => {
                let e: f64 = Exp1.sample(rng);
                clock.advance_ns(e * *mean_gap_ns);
                Some((clock.ns, None))
            }
            Process::Ramp {
                start,
                clock,
                from_rate,
                slope,
            } => {
                let e: f64 = Exp1.sample(rng);
                // Solve r0·d + slope·d²/2 = e for d, r0 the rate now (stable form of the quadratic root).
                let r0 = (*from_rate + *slope * clock.secs_since(*start)).max(0.0);
                let disc = r0 * r0 + 2.0 * *slope * e;
                if disc < 0.0 {
                    return Ok(None); // the rate falls to 0 before the budget is spent
                }
                let denom = r0 + disc.sqrt();
                if denom <= 0.0 {
                    return Ok(None);
                }
                clock.advance_ns(2.0 * e / denom * NS_PER_S);
                Some((clock.ns, None))
            }
            Process::Step {
                clock,
                steps,
                seg,
                end,
            } => step_next(clock, steps, seg, *end, rng),
            Process::Sine {
                start,
                end,
                clock,
                mean_rate,
                amplitude,
                period_s,
            } => {
                let max = *mean_rate + *amplitude;
                loop {
                    let e: f64 = Exp1.sample(rng);
                    clock.advance_ns(e / max * NS_PER_S);
                    if clock.ns >= *end {
                        return Ok(None); // past the phase: no need to thin a rate-0 stretch
                    }
                    let phase = std::f64::consts::TAU * clock.secs_since(*start) / *period_s;
                    let rate = (*mean_rate + *amplitude * phase.sin()).max(0.0);
                    let u: f64 = StandardUniform.sample(rng);
                    if u * max < rate {
                        break Some((clock.ns, None));
                    }
                }
            }
            Process::Spike {
                start,
                window_ns,
                remaining,
                x,
            } => {
                if *remaining == 0 {
                    return Ok(None);
                }
                if *window_ns == 0 {
                    *remaining -= 1;
                    return Ok(Some((*start, None)));
                }
                let u: f64 = StandardUniform.sample(rng);
                // The smallest of n uniforms on [x, 1): x + (1 − x)·(1 − V^(1/n)), V = 1 − u ∈ (0, 1].
                let gap = -((1.0 - u).ln() / *remaining as f64).exp_m1();
                *x += (1.0 - *x) * gap;
                *remaining -= 1;
                let offset = ((*x * *window_ns as f64) as u64).min(*window_ns - 1);
                Some((*start + offset, None))
            }
            Process::Periodic {
                start,
                every_ns,
                count,
                k,
                left,
            } => {
                if *count == 0 {
                    return Ok(None);
                }
                if *left == 0 {
                    *k += 1;
                    *left = *count;
                }
                *left -= 1;
                let offset = k.checked_mul(*every_ns);
                offset.map(|o| (start.saturating_add(o), None))
            }
            Process::Replay(stream) => stream.next()?,
            Process::Done => None,
        })
    }
}

/// Piecewise-constant rate: spend an exponential budget segment by segment (memorylessness makes this exact).
fn step_next<R: Rng + ?Sized>(
    clock: &mut Clock,
    steps: &[(u64, f64)],
    seg: &mut usize,
    end: u64,
    rng: &mut R,
) -> Next {
    if steps.is_empty() {
        return None;
    }
    // Before the first step the rate is 0.
    if clock.ns < steps[0].0 {
        *clock = Clock::at(steps[0].0);
    }
    let mut budget: f64 = Exp1.sample(rng);
    loop {
        let (_, rate) = *steps.get(*seg)?;
        let seg_end = steps.get(*seg + 1).map_or(end, |s| s.0);
        if clock.ns >= end {
            return None;
        }
        if rate > 0.0 {
            let left_s =
                ((seg_end.saturating_sub(clock.ns) as f64 - clock.frac) / NS_PER_S).max(0.0);
            let capacity = rate * left_s;
            if budget < capacity {
                clock.advance_ns(budget / rate * NS_PER_S);
                if clock.ns < seg_end {
                    return Some((clock.ns, None));
                }
                // Rounding put it on the boundary: it belongs to the next segment's start.
                return Some((seg_end, None));
            }
            budget -= capacity;
        }
        *clock = Clock::at(seg_end);
        *seg += 1;
        if *seg >= steps.len() {
            return None;
        }
    }
}
