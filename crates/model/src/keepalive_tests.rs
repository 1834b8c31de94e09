//! Tests of the learning keep-alive policies: the hybrid histogram's windows and fallbacks, greedy-dual's eviction
//! order, clock and overflow, determinism, and the hybrid-vs-fixed claim on a cron-like function.

use std::collections::BTreeMap;

use super::*;
use crate::{Account, Distribution, ScalingModel};
use crate::{Action, DestroyReason, FunctionRules, InvokeMode, Platform, SandboxId, Timer};

const S: u64 = 1_000_000_000;
const MIN: u64 = 60 * S;
const MS: u64 = 1_000_000;

fn histogram(minutes: &[(f64, u32)]) -> IdleTimes {
    let mut h = IdleTimes::default();
    for &(m, n) in minutes {
        for _ in 0..n {
            h.record((m * MIN as f64) as u64);
        }
    }
    h
}

#[test]
fn windows_come_from_the_5th_and_99th_percentiles_with_10_percent_margins() {
    // 20 idle times: one at 10.5 min, 18 at 14.2 min, one at 20.9 min. The 5th percentile (1 of 20) is in bin 10,
    // the 99th (19.8 of 20) in bin 20.
    let h = histogram(&[(10.5, 1), (14.2, 18), (20.9, 1)]);
    assert_eq!(h.percentile_bin(HEAD_PERCENT), Some(10));
    assert_eq!(h.percentile_bin(TAIL_PERCENT), Some(20));
    // Pre-warm: 10 min × 0.9 = 9 min. Keep-alive: to ⌈21 min × 1.1⌉ = 24 min, i.e. 15 min after the pre-warm.
    assert_eq!(
        h.windows(10),
        Ok(Windows {
            prewarm_ns: 9 * MIN,
            keep_alive_ns: 15 * MIN
        })
    );
    // 14 min × 0.9 = 12.6 rounds down to 12; 15 min × 1.1 = 16.5 rounds up to 17.
    let cron = histogram(&[(14.99, 12)]);
    assert_eq!(
        cron.windows(10),
        Ok(Windows {
            prewarm_ns: 12 * MIN,
            keep_alive_ns: 5 * MIN
        })
    );
}

#[test]
fn short_idle_times_keep_the_environment_instead_of_prewarming() {
    // All under a minute: head bin 0, so no pre-warm; keep alive to ⌈1 min × 1.1⌉ = 2 min.
    let h = histogram(&[(0.5, 30)]);
    assert_eq!(
        h.windows(10),
        Ok(Windows {
            prewarm_ns: 0,
            keep_alive_ns: 2 * MIN
        })
    );
}

#[test]
fn too_few_idle_times_fall_back() {
    let mut h = histogram(&[(5.0, 9)]);
    assert_eq!(h.windows(10), Err(Fallback::TooFewSamples));
    h.record(5 * MIN);
    assert!(h.windows(10).is_ok());
    assert_eq!(
        IdleTimes::default().windows(1),
        Err(Fallback::TooFewSamples)
    );
}

#[test]
fn half_the_idle_times_beyond_four_hours_fall_back() {
    // 240 min is the first minute outside the histogram; 239.99 min is its last bin.
    let mut h = histogram(&[(239.99, 5), (240.0, 5)]);
    assert_eq!((h.in_bounds(), h.out_of_bounds()), (5, 5));
    assert_eq!(h.windows(5), Err(Fallback::OutOfBounds));
    h.record(239 * MIN);
    assert!(h.windows(5).is_ok(), "5 of 11 out of bounds is below half");
}

#[test]
fn evenly_spread_idle_times_are_not_representative() {
    // k equally filled bins of 240 have CV = √(240/k − 1): exactly 2 at k = 48, below 2 beyond.
    let spread = |k: usize| {
        let mut h = IdleTimes::default();
        for bin in 0..k {
            h.record(bin as u64 * MIN + 30 * S);
        }
        h
    };
    assert!(spread(48).cv_at_least(CV_THRESHOLD));
    assert!(spread(48).windows(10).is_ok());
    assert!(!spread(49).cv_at_least(CV_THRESHOLD));
    assert_eq!(spread(49).windows(10), Err(Fallback::NotRepresentative));
}

#[test]
fn the_histogram_stays_bounded() {
    let mut h = IdleTimes::default();
    for i in 0..100_000u64 {
        h.record(i * 7 * S);
    }
    assert_eq!(h.bins.len(), BINS);
    assert_eq!(h.in_bounds() + h.out_of_bounds(), 100_000);
    assert_eq!(h.in_bounds(), (240 * 60_u64).div_ceil(7));
}

// ---- A tiny virtual-time driver for platform-level checks ----

const OVERHEAD_NS: u64 = 105 * MS; // rules(): placement 100 ms + download 5 ms
const INIT_NS: u64 = 200 * MS;
const DURATION_NS: u64 = 100 * MS;

fn account(keep_alive_memory_mb: Option<u64>) -> Account {
    Account {
        concurrency_limit: 1000,
        unreserved_minimum: 100,
        requests_per_environment: Some(10),
        scaling_refill: crate::ScalingRefill::Continuous,
        scaling: ScalingModel::PerFunction {
            environments: 1000,
            window_ns: 10 * S,
        },
        keep_alive_memory_mb,
    }
}

fn rules(keep_alive: KeepAlivePolicy, memory_mb: u64) -> FunctionRules {
    FunctionRules {
        reserved: None,
        provisioned: 0,
        allocation_delay_ns: 60 * S,
        keep_alive,
        max_lifetime_ns: None,
        memory_mb,
        placement_ms: Distribution::Constant { value: 100.0 },
        download_ns: 5 * MS,
        schedule: Vec::new(),
        autoscaling: None,
        timeout_ns: 3 * 1_000_000_000,
        snapshot_restore_ns: None,
        runtime_startup: None,
        snapstart_restore: None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    Done(SandboxId),
    Ready(SandboxId),
    Timer(Timer),
    Arrival(FunctionId),
}

/// What a run did.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    cold: u64,
    warm: u64,
    prewarms: u64,
    /// Σ (alive − busy) over destroyed environments, ns.
    idle_ns: u64,
    /// (time, function) of every destroy, in order.
    destroyed: Vec<(u64, FunctionId, DestroyReason)>,
    log: Vec<(u64, Action)>,
}

struct Driver {
    p: Platform,
    events: BTreeMap<(u64, u64), Ev>,
    seq: u64,
    out: Outcome,
}

impl Driver {
    fn new(p: Platform) -> Self {
        Driver {
            p,
            events: BTreeMap::new(),
            seq: 0,
            out: Outcome::default(),
        }
    }

    fn at(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.events.insert((t, self.seq), ev);
    }

    fn drain(&mut self, now: u64) {
        while let Some(a) = self.p.poll_action() {
            self.out.log.push((now, a.clone()));
            match a {
                Action::RunWarm { sandbox, .. } => {
                    self.out.warm += 1;
                    self.at(now + DURATION_NS, Ev::Done(sandbox));
                }
                Action::ColdStart { sandbox, .. } => {
                    self.out.cold += 1;
                    self.at(now + OVERHEAD_NS + INIT_NS + DURATION_NS, Ev::Done(sandbox));
                }
                Action::Prewarm {
                    sandbox,
                    overhead_ns,
                    ..
                } => {
                    self.out.prewarms += 1;
                    self.at(now + overhead_ns + INIT_NS, Ev::Ready(sandbox));
                }
                Action::Destroy {
                    function,
                    reason,
                    created_ns,
                    busy_ns,
                    ..
                } => {
                    self.out.idle_ns += now - created_ns - busy_ns;
                    self.out.destroyed.push((now, function, reason));
                }
                Action::SetTimer { at_ns, timer } => self.at(at_ns, Ev::Timer(timer)),
                Action::Throttle { .. }
                | Action::Provision { .. }
                | Action::ProvisionedConfigured { .. } => {}
            }
        }
    }

    /// Runs every event (keep-alive timers included), then ends the run.
    fn run(mut self) -> Outcome {
        let mut now = 0;
        while let Some(((t, _), ev)) = self.events.pop_first() {
            now = t;
            match ev {
                Ev::Arrival(f) => self.p.invoke(t, f, 0, InvokeMode::Synchronous),
                Ev::Done(sandbox) => {
                    if let Some(f) = self.p.function_of(sandbox) {
                        self.p.init_observed(f, INIT_NS);
                    }
                    self.p.invocation_finished(t, sandbox, false);
                }
                Ev::Ready(sandbox) => self.p.sandbox_ready(t, sandbox, true),
                Ev::Timer(timer) => self.p.timer(t, timer),
            }
            self.drain(t);
        }
        self.p.end();
        self.drain(now);
        self.out
    }
}

fn cron(keep_alive: KeepAlivePolicy) -> Outcome {
    let mut d = Driver::new(Platform::new(
        account(None),
        vec![rules(keep_alive, 128)],
        1,
    ));
    // Every 15 minutes for 6 hours: 24 invocations.
    for i in 0..24 {
        d.at(i * 15 * MIN, Ev::Arrival(0));
    }
    d.run()
}

fn hybrid(min_samples: u32) -> KeepAlivePolicy {
    KeepAlivePolicy::Hybrid {
        fallback_ns: 10 * MIN,
        min_samples,
    }
}

#[test]
fn hybrid_beats_fixed_10_minutes_on_a_cron_function_without_more_idle_time() {
    let fixed = cron(KeepAlivePolicy::Fixed { idle_ns: 10 * MIN });
    let hybrid = cron(hybrid(10));
    // Fixed 10 min never sees a 15-minute gap warm.
    assert_eq!((fixed.cold, fixed.warm), (24, 0));
    // Hybrid: the first invocation and the 10 that teach the histogram are cold (the fallback keeps them 10 min),
    // then each next one finds an environment pre-warmed 12 min after the last ended.
    assert_eq!((hybrid.cold, hybrid.warm), (11, 13));
    assert!(hybrid.cold * 2 < fixed.cold);
    // 13 pre-warms served a request; the last one (after the final invocation) expired.
    assert_eq!(hybrid.prewarms, 14);
    // Idle environment-time: 24 × 10 min for fixed; 10 × 10 min + 13 × ~3 min + 5 min for hybrid.
    assert_eq!(fixed.idle_ns, 24 * 10 * MIN);
    assert!(
        hybrid.idle_ns <= fixed.idle_ns,
        "hybrid idle {} min > fixed {} min",
        hybrid.idle_ns / MIN,
        fixed.idle_ns / MIN
    );
    let expected = 100 * MIN + 13 * 3 * MIN + 5 * MIN;
    assert!(
        hybrid.idle_ns.abs_diff(expected) < MIN,
        "{}",
        hybrid.idle_ns
    );
}

#[test]
fn an_environment_is_unloaded_then_prewarmed_and_kept_for_the_window() {
    let mut d = Driver::new(Platform::new(account(None), vec![rules(hybrid(3), 128)], 1));
    for i in 0..4 {
        d.at(i * 15 * MIN, Ev::Arrival(0));
    }
    let out = d.run();
    // The 4th invocation (3 idle times known) ends at 45 min + 405 ms: unloaded at once, pre-warm 12 min later.
    let end4 = 45 * MIN + OVERHEAD_NS + INIT_NS + DURATION_NS;
    assert!(
        out.destroyed.contains(&(end4, 0, DestroyReason::KeepAlive)),
        "{:?}",
        out.destroyed
    );
    let prewarm_at = end4 + 12 * MIN;
    let set = out.log.iter().find_map(|(t, a)| match a {
        Action::SetTimer {
            at_ns,
            timer: Timer::Prewarm { keep_alive_ns, .. },
        } => Some((*t, *at_ns, *keep_alive_ns)),
        _ => None,
    });
    assert_eq!(set, Some((end4, prewarm_at, 5 * MIN)));
    assert!(
        out.log
            .iter()
            .any(|(t, a)| *t == prewarm_at && matches!(a, Action::Prewarm { .. }))
    );
    // Nobody came: it is reclaimed 5 minutes after the pre-warm.
    assert_eq!(
        out.destroyed.last(),
        Some(&(prewarm_at + 5 * MIN, 0, DestroyReason::KeepAlive))
    );
}

#[test]
fn a_request_before_the_prewarm_cancels_it() {
    let mut d = Driver::new(Platform::new(account(None), vec![rules(hybrid(3), 128)], 1));
    for i in 0..4 {
        d.at(i * 15 * MIN, Ev::Arrival(0));
    }
    // Early: 5 minutes after the 4th, before the 12-minute pre-warm.
    d.at(50 * MIN, Ev::Arrival(0));
    let out = d.run();
    assert_eq!(out.cold, 5);
    // Only the pre-warm decided after the 5th invocation ran; the one set after the 4th was spent by the 5th.
    assert_eq!(out.prewarms, 1);
}

#[test]
fn the_fallback_keeps_environments_for_the_fixed_time() {
    let policy = KeepAlivePolicy::Hybrid {
        fallback_ns: 7 * MIN,
        min_samples: 10,
    };
    let mut d = Driver::new(Platform::new(account(None), vec![rules(policy, 128)], 1));
    d.at(0, Ev::Arrival(0));
    d.at(6 * MIN, Ev::Arrival(0));
    let out = d.run();
    assert_eq!((out.cold, out.warm), (1, 1));
    assert_eq!(out.destroyed.len(), 1);
    assert_eq!(
        out.destroyed[0].0,
        6 * MIN + DURATION_NS + 7 * MIN,
        "7 min after the last invocation"
    );
    assert_eq!(out.prewarms, 0);
}

// ---- Greedy-dual ----

fn gd_platform(budget_mb: u64, memory_mb: &[u64]) -> Platform {
    let rules = memory_mb
        .iter()
        .map(|&mb| rules(KeepAlivePolicy::GreedyDual, mb))
        .collect();
    Platform::new(account(Some(budget_mb)), rules, 1)
}

/// Runs one request of `f` at `t` to completion (cold or warm) and returns its sandbox.
fn serve(p: &mut Platform, t: u64, f: FunctionId, init_ns: u64) -> (SandboxId, Vec<Action>) {
    p.invoke(t, f, 0, InvokeMode::Synchronous);
    let actions: Vec<Action> = std::iter::from_fn(|| p.poll_action()).collect();
    let sandbox = actions
        .iter()
        .find_map(|a| match a {
            Action::RunWarm { sandbox, .. } | Action::ColdStart { sandbox, .. } => Some(*sandbox),
            _ => None,
        })
        .expect("served");
    if actions
        .iter()
        .any(|a| matches!(a, Action::ColdStart { .. }))
    {
        p.init_observed(f, init_ns);
    }
    p.invocation_finished(t + S, sandbox, false);
    (sandbox, actions)
}

fn evicted(actions: &[Action]) -> Vec<SandboxId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Destroy {
                sandbox,
                reason: DestroyReason::Evicted,
                ..
            } => Some(*sandbox),
            _ => None,
        })
        .collect()
}

#[test]
fn greedy_dual_evicts_the_lowest_priority_and_advances_the_clock() {
    // Budget for two 128 MB environments; functions a, b, c.
    let mut p = gd_platform(256, &[128, 128, 128]);
    let init = 100 * MS;
    let (a, _) = serve(&mut p, 0, 0, init);
    serve(&mut p, 10 * S, 0, init);
    serve(&mut p, 20 * S, 0, init); // a: 3 requests
    let (b, _) = serve(&mut p, 30 * S, 1, init); // b: 1 request
    assert_eq!(p.greedy_dual_memory_mb(), 256);
    // No time limit: both stay warm however long they sit.
    assert_eq!(p.pool_state(0).idle + p.pool_state(1).idle, 2);

    // c needs room: priorities a = 0 + 3 × 100 ms / 128, b = 0 + 1 × 100 ms / 128; b goes.
    let (c, actions) = serve(&mut p, 3600 * S, 2, init);
    assert_eq!(evicted(&actions), vec![b]);
    let pb = priority(0, 1, u128::from(init), 128);
    assert_eq!(p.greedy_dual_clock(), pb);

    // b again (now 2 requests): c became idle at clock pb, so c = pb + 1 × 100 ms / 128 < a = 3 × 100 ms / 128.
    let (_, actions) = serve(&mut p, 3700 * S, 1, init);
    assert_eq!(evicted(&actions), vec![c]);
    assert_eq!(
        p.greedy_dual_clock(),
        priority(pb, 1, u128::from(init), 128)
    );
    assert!(p.function_of(a).is_some(), "the frequent function stayed");
    assert_eq!(p.keep_alive_stats().evictions, 2);
    assert_eq!(p.keep_alive_stats().overflows, 0);
}

#[test]
fn greedy_dual_keeps_expensive_and_small_environments() {
    // slow: one request, 2 s init, 512 MB. quick: ten requests, 10 ms init, 128 MB. big: whatever.
    let mut p = gd_platform(640, &[512, 128, 128]);
    let (slow, _) = serve(&mut p, 0, 0, 2000 * MS);
    let mut quick = None;
    for i in 0..10 {
        quick = Some(serve(&mut p, (1 + i) * S, 1, 10 * MS).0);
    }
    // slow = 1 × 2 s / 512 ≈ 3.9 ms/MB beats quick = 10 × 10 ms / 128 ≈ 0.8 ms/MB: quick is evicted.
    let (_, actions) = serve(&mut p, 100 * S, 2, 10 * MS);
    assert_eq!(evicted(&actions), quick.into_iter().collect::<Vec<_>>());
    assert!(p.function_of(slow).is_some());
}

#[test]
fn greedy_dual_creates_over_the_budget_when_nothing_is_idle_and_counts_it() {
    let mut p = gd_platform(128, &[128]);
    p.invoke(0, 0, 1, InvokeMode::Synchronous);
    p.invoke(0, 0, 2, InvokeMode::Synchronous); // the first is still running: nothing to evict
    let colds = std::iter::from_fn(|| p.poll_action())
        .filter(|a| matches!(a, Action::ColdStart { .. }))
        .count();
    assert_eq!(colds, 2, "Lambda does not refuse the request");
    assert_eq!(p.keep_alive_stats().overflows, 1);
    assert_eq!(p.greedy_dual_memory_mb(), 256);
}

#[test]
fn greedy_dual_memory_is_released_when_environments_go() {
    let mut p = gd_platform(1024, &[256]);
    let (sandbox, _) = serve(&mut p, 0, 0, 100 * MS);
    assert_eq!(p.greedy_dual_memory_mb(), 256);
    p.end();
    let gone: Vec<_> = std::iter::from_fn(|| p.poll_action()).collect();
    assert!(matches!(
        gone.as_slice(),
        [Action::Destroy { sandbox: s, reason: DestroyReason::EndOfRun, .. }] if *s == sandbox
    ));
    assert_eq!(p.greedy_dual_memory_mb(), 0);
}

#[test]
fn learning_policies_are_deterministic() {
    let run = || {
        let rules = vec![
            rules(hybrid(3), 128),
            rules(KeepAlivePolicy::GreedyDual, 256),
            rules(KeepAlivePolicy::GreedyDual, 128),
        ];
        let mut d = Driver::new(Platform::new(account(Some(512)), rules, 7));
        // Irregular but fixed traffic on all three.
        let mut x: u64 = 12345;
        for _ in 0..300 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let t = (x >> 20) % (4 * 3600 * S);
            d.at(t, Ev::Arrival(((x >> 8) % 3) as usize));
        }
        let out = d.run();
        (out.log, out.idle_ns, out.cold, out.warm)
    };
    let first = run();
    assert!(
        first.2 > 0 && first.3 > 0,
        "the traffic exercises both paths"
    );
    assert_eq!(first, run());
}
