//! Tests of the downstream services model: per-sandbox connection limits and their release, proxy multiplexing with
//! FIFO waits and give-ups, seeded error rates and latencies, and the accounting identity.

use std::collections::BTreeSet;

use super::*;
use crate::Distribution;

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

fn spec(
    latency_ms: Distribution,
    error_rate: f64,
    connections: Option<ConnectionModel>,
) -> ServiceSpec {
    ServiceSpec {
        name: "db".into(),
        latency_ms,
        error_rate,
        connections,
    }
}

fn constant(ms: f64) -> Distribution {
    Distribution::Constant { value: ms }
}

fn proxy(pool: u32, borrow_timeout_ns: u64) -> Option<ConnectionModel> {
    Some(ConnectionModel::Proxy {
        pool,
        max_client_connections: None,
        borrow_timeout_ns,
    })
}

fn one(spec: ServiceSpec, seed: u64) -> Services {
    Services::new(vec![spec], seed).expect("valid spec")
}

/// Plays the model's timers in time order up to `until_ns`, like the virtual-time driver, and returns the
/// `Started`/`TimedOut` actions in the order they came.
fn run_timers(s: &mut Services, until_ns: u64) -> Vec<ServiceAction> {
    let mut timers = BTreeSet::new();
    let mut seen = Vec::new();
    loop {
        while let Some(a) = s.poll_action() {
            match a {
                ServiceAction::SetTimer { at_ns } => {
                    timers.insert(at_ns);
                }
                other => seen.push(other),
            }
        }
        match timers.pop_first() {
            Some(t) if t <= until_ns => s.timer(t),
            _ => return seen,
        }
    }
}

#[test]
fn per_sandbox_limit_refuses_exactly_the_limit_plus_first_sandbox() {
    let mut s = one(
        spec(
            constant(5.0),
            0.0,
            Some(ConnectionModel::PerSandbox { limit: 100 }),
        ),
        1,
    );
    for i in 0..100 {
        let d = s.call(i * MS, 0, SandboxId(i), 60 * S);
        assert_eq!(
            d,
            CallDecision::Completes {
                call: CallId(i),
                at_ns: i * MS + 5 * MS,
                error: false
            }
        );
    }
    let d = s.call(100 * MS, 0, SandboxId(100), 60 * S);
    assert_eq!(
        d,
        CallDecision::Refused {
            call: CallId(100),
            refusal: Refusal::TooManyConnections { limit: 100 }
        }
    );
    assert_eq!(
        Refusal::TooManyConnections { limit: 100 }.message("db"),
        "service `db` refused the connection: too many connections (limit 100)"
    );
    // A sandbox that holds a connection keeps using it at the limit.
    assert!(matches!(
        s.call(101 * MS, 0, SandboxId(7), 60 * S),
        CallDecision::Completes { .. }
    ));
    let st = *s.stats(0);
    assert_eq!(
        (
            st.calls,
            st.started,
            st.refused,
            st.connections,
            st.peak_connections
        ),
        (102, 101, 1, 100, 100)
    );
    assert!(st.balanced());
    assert!(s.poll_action().is_none(), "per-sandbox calls never wait");
}

#[test]
fn destroyed_sandboxes_release_their_connections() {
    let mut s = one(
        spec(
            constant(1.0),
            0.0,
            Some(ConnectionModel::PerSandbox { limit: 2 }),
        ),
        1,
    );
    assert!(matches!(
        s.call(0, 0, SandboxId(1), S),
        CallDecision::Completes { .. }
    ));
    assert!(matches!(
        s.call(0, 0, SandboxId(2), S),
        CallDecision::Completes { .. }
    ));
    assert!(matches!(
        s.call(0, 0, SandboxId(3), S),
        CallDecision::Refused { .. }
    ));
    // The refused sandbox holds nothing.
    assert_eq!(s.stats(0).connections, 2);
    s.sandbox_destroyed(10 * MS, SandboxId(99)); // never connected: no change
    assert_eq!(s.stats(0).connections, 2);
    s.sandbox_destroyed(10 * MS, SandboxId(1));
    assert_eq!(s.stats(0).connections, 1);
    assert!(matches!(
        s.call(11 * MS, 0, SandboxId(3), S),
        CallDecision::Completes { .. }
    ));
    // Sandbox 1 comes back (a new environment would have a new id; the same id reconnects) and is refused.
    assert!(matches!(
        s.call(12 * MS, 0, SandboxId(1), S),
        CallDecision::Refused {
            refusal: Refusal::TooManyConnections { limit: 2 },
            ..
        }
    ));
    let st = *s.stats(0);
    assert_eq!((st.connections, st.peak_connections, st.refused), (2, 2, 2));
    assert!(st.balanced());
}

#[test]
fn a_proxy_pool_of_20_serves_100_sandboxes_first_come_first_served() {
    // 100 sandboxes call at once; each call holds a pool connection for 50 ms: 5 waves of 20.
    let mut s = one(
        spec(constant(50.0), 0.0, proxy(20, DEFAULT_BORROW_TIMEOUT_NS)),
        1,
    );
    for i in 0..100 {
        let d = s.call(0, 0, SandboxId(i), 10 * S);
        if i < 20 {
            assert_eq!(
                d,
                CallDecision::Completes {
                    call: CallId(i),
                    at_ns: 50 * MS,
                    error: false
                }
            );
        } else {
            assert_eq!(d, CallDecision::Queued { call: CallId(i) });
        }
    }
    let st = *s.stats(0);
    assert_eq!(
        (st.connections, st.queued, st.client_connections),
        (20, 80, 100)
    );
    let seen = run_timers(&mut s, 10 * S);
    assert_eq!(seen.len(), 80);
    for (k, a) in seen.iter().enumerate() {
        let id = 20 + k as u64;
        let wave = 1 + k as u64 / 20;
        assert_eq!(
            *a,
            ServiceAction::Started {
                call: CallId(id),
                service: 0,
                sandbox: SandboxId(id),
                at_ns: wave * 50 * MS,
                completes_at_ns: (wave + 1) * 50 * MS,
                waited_ns: wave * 50 * MS,
                error: false,
            },
            "call {id} starts in wave {wave}, in call order"
        );
    }
    let st = *s.stats(0);
    assert_eq!(st.started, 100);
    assert_eq!(st.waited, 80);
    // 20 calls each waited 50, 100, 150 and 200 ms.
    assert_eq!(st.total_wait_ns, 20 * (50 + 100 + 150 + 200) * MS);
    assert_eq!(st.max_wait_ns, 200 * MS);
    assert_eq!((st.peak_connections, st.peak_queued), (20, 80));
    assert_eq!(
        (st.peak_client_connections, st.timed_out, st.refused),
        (100, 0, 0)
    );
    assert!(st.balanced());
    // Stats are as of the last input: the last wave's connections return at 250 ms, seen by any input from then.
    s.timer(249 * MS);
    assert_eq!((s.stats(0).connections, s.stats(0).queued), (20, 0));
    s.timer(250 * MS);
    assert_eq!(s.stats(0).connections, 0, "all returned at 250 ms");

    // The same spike with a connection each and a limit of 20: 80 refusals and no waiting.
    let mut per = one(
        spec(
            constant(50.0),
            0.0,
            Some(ConnectionModel::PerSandbox { limit: 20 }),
        ),
        1,
    );
    let refused = (0..100)
        .filter(|&i| {
            matches!(
                per.call(0, 0, SandboxId(i), 10 * S),
                CallDecision::Refused { .. }
            )
        })
        .count();
    assert_eq!(refused, 80);
}

#[test]
fn a_returned_connection_goes_to_the_oldest_waiting_call_before_a_new_one() {
    let mut s = one(spec(constant(100.0), 0.0, proxy(1, 0)), 1);
    assert!(matches!(
        s.call(0, 0, SandboxId(1), S),
        CallDecision::Completes { .. }
    ));
    assert_eq!(
        s.call(10 * MS, 0, SandboxId(2), S),
        CallDecision::Queued { call: CallId(1) }
    );
    // A new call at the very instant the connection returns queues behind call 1 (which starts at 100 ms).
    assert_eq!(
        s.call(100 * MS, 0, SandboxId(3), S),
        CallDecision::Queued { call: CallId(2) }
    );
    let seen = run_timers(&mut s, S);
    let starts: Vec<(u64, u64, u64)> = seen
        .iter()
        .map(|a| match *a {
            ServiceAction::Started {
                call,
                at_ns,
                waited_ns,
                ..
            } => (call.0, at_ns / MS, waited_ns / MS),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(starts, vec![(1, 100, 90), (2, 200, 100)]);
}

#[test]
fn waiting_calls_give_up_at_the_borrow_timeout_or_the_deadline_whichever_is_first() {
    let mut s = one(spec(constant(1000.0), 0.0, proxy(1, 300 * MS)), 1);
    assert!(matches!(
        s.call(0, 0, SandboxId(1), 10 * S),
        CallDecision::Completes { .. }
    ));
    // Call 1: deadline 10 s, so the 300 ms borrow timeout ends its wait.
    assert_eq!(
        s.call(0, 0, SandboxId(2), 10 * S),
        CallDecision::Queued { call: CallId(1) }
    );
    // Call 2: its invocation ends at 200 ms, before 100 + 300 ms.
    assert_eq!(
        s.call(100 * MS, 0, SandboxId(3), 200 * MS),
        CallDecision::Queued { call: CallId(2) }
    );
    let seen = run_timers(&mut s, 10 * S);
    assert_eq!(
        seen,
        vec![
            ServiceAction::TimedOut {
                call: CallId(2),
                service: 0,
                sandbox: SandboxId(3),
                at_ns: 200 * MS,
                waited_ns: 100 * MS,
                refusal: Refusal::DeadlineExceeded,
            },
            ServiceAction::TimedOut {
                call: CallId(1),
                service: 0,
                sandbox: SandboxId(2),
                at_ns: 300 * MS,
                waited_ns: 300 * MS,
                refusal: Refusal::BorrowTimeout,
            },
        ]
    );
    let st = *s.stats(0);
    assert_eq!(
        (st.started, st.timed_out, st.queued, st.waited),
        (1, 2, 0, 0)
    );
    assert!(st.balanced());
    // A full pool and no time left to wait: refused at once.
    assert_eq!(
        s.call(500 * MS, 0, SandboxId(4), 500 * MS),
        CallDecision::Refused {
            call: CallId(3),
            refusal: Refusal::DeadlineExceeded
        }
    );
    assert_eq!(s.stats(0).timed_out, 3);
}

#[test]
fn a_give_up_wins_a_tie_with_a_returning_connection() {
    // The connection returns at 100 ms, exactly when the waiting call's 100 ms borrow timeout ends: the call may
    // start only strictly before its limit, so it times out, and the connection stays free for the next call.
    let mut s = one(spec(constant(100.0), 0.0, proxy(1, 100 * MS)), 1);
    assert!(matches!(
        s.call(0, 0, SandboxId(1), S),
        CallDecision::Completes { .. }
    ));
    assert_eq!(
        s.call(0, 0, SandboxId(2), S),
        CallDecision::Queued { call: CallId(1) }
    );
    let seen = run_timers(&mut s, S);
    assert!(matches!(
        seen.as_slice(),
        [ServiceAction::TimedOut {
            at_ns,
            refusal: Refusal::BorrowTimeout,
            ..
        }] if *at_ns == 100 * MS
    ));
    assert_eq!(
        s.call(100 * MS, 0, SandboxId(3), S),
        CallDecision::Completes {
            call: CallId(2),
            at_ns: 200 * MS,
            error: false
        }
    );
}

#[test]
fn destroying_a_sandbox_drops_its_waiting_call_and_closes_its_client_connection() {
    let mut s = one(spec(constant(100.0), 0.0, proxy(1, 0)), 1);
    assert!(matches!(
        s.call(0, 0, SandboxId(1), S),
        CallDecision::Completes { .. }
    ));
    assert_eq!(
        s.call(0, 0, SandboxId(2), S),
        CallDecision::Queued { call: CallId(1) }
    );
    assert_eq!(s.stats(0).client_connections, 2);
    s.sandbox_destroyed(50 * MS, SandboxId(2));
    let st = *s.stats(0);
    assert_eq!((st.abandoned, st.queued, st.client_connections), (1, 0, 1));
    assert!(st.balanced());
    // Destroying the running call's sandbox leaves its pool connection borrowed until the query ends.
    s.sandbox_destroyed(60 * MS, SandboxId(1));
    assert_eq!(s.stats(0).connections, 1);
    assert!(run_timers(&mut s, S).is_empty(), "nothing left to start");
    s.timer(100 * MS);
    assert_eq!(s.stats(0).connections, 0);
}

#[test]
fn the_client_connection_cap_refuses_new_sandboxes_only() {
    let model = Some(ConnectionModel::Proxy {
        pool: 5,
        max_client_connections: Some(3),
        borrow_timeout_ns: DEFAULT_BORROW_TIMEOUT_NS,
    });
    let mut s = one(spec(constant(1.0), 0.0, model), 1);
    for i in 0..3 {
        assert!(matches!(
            s.call(0, 0, SandboxId(i), S),
            CallDecision::Completes { .. }
        ));
    }
    assert_eq!(
        s.call(0, 0, SandboxId(3), S),
        CallDecision::Refused {
            call: CallId(3),
            refusal: Refusal::TooManyClientConnections { limit: 3 }
        }
    );
    assert!(matches!(
        s.call(0, 0, SandboxId(0), S),
        CallDecision::Completes { .. }
    ));
    let st = *s.stats(0);
    assert_eq!(
        (st.refused, st.peak_client_connections, st.peak_connections),
        (1, 3, 4)
    );
}

fn outcomes(s: &mut Services, n: u64) -> Vec<CallDecision> {
    (0..n)
        .map(|i| s.call(i * MS, 0, SandboxId(i), i * MS + S))
        .collect()
}

#[test]
fn the_error_rate_is_seeded_and_close_to_the_rate() {
    let n = 100_000;
    let mut a = one(spec(constant(1.0), 0.1, None), 42);
    let runs = outcomes(&mut a, n);
    let errors = a.stats(0).errors;
    // Binomial(100 000, 0.1): sd = sqrt(n p (1 - p)) ≈ 94.9; ±500 is over 5 sd, so a correct model fails this
    // less than once in a million seeds, while a rate off by 0.5 % fails it.
    assert!((9_500..=10_500).contains(&errors), "{errors} errors");
    let counted = runs
        .iter()
        .filter(|d| matches!(d, CallDecision::Completes { error: true, .. }))
        .count() as u64;
    assert_eq!(counted, errors);
    let mut again = one(spec(constant(1.0), 0.1, None), 42);
    assert_eq!(outcomes(&mut again, n), runs, "same seed, same errors");
    let mut other = one(spec(constant(1.0), 0.1, None), 43);
    assert_ne!(outcomes(&mut other, n), runs, "another seed, other errors");
    let mut never = one(spec(constant(1.0), 0.0, None), 42);
    outcomes(&mut never, 1000);
    assert_eq!(never.stats(0).errors, 0);
    let mut always = one(spec(constant(1.0), 1.0, None), 42);
    outcomes(&mut always, 1000);
    assert_eq!(always.stats(0).errors, 1000);
}

fn latencies(s: &mut Services, n: u64) -> Vec<u64> {
    (0..n)
        .map(|i| match s.call(0, 0, SandboxId(i), S) {
            CallDecision::Completes { at_ns, .. } => at_ns,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn latencies_follow_the_distribution_and_the_seed() {
    let uniform = Distribution::Uniform {
        min: 10.0,
        max: 30.0,
    };
    let n = 10_000;
    let mut a = one(spec(uniform.clone(), 0.0, None), 7);
    let la = latencies(&mut a, n);
    assert!(la.iter().all(|&l| (10 * MS..=30 * MS).contains(&l)));
    // Uniform(10, 30): sd 20/sqrt(12) ≈ 5.77 ms, so the mean of 10 000 draws has sd ≈ 0.058 ms; ±0.3 ms is 5 sd.
    let mean_ms = la.iter().sum::<u64>() as f64 / n as f64 / MS as f64;
    assert!((mean_ms - 20.0).abs() < 0.3, "mean {mean_ms} ms");
    let mut b = one(spec(uniform.clone(), 0.0, None), 7);
    assert_eq!(latencies(&mut b, n), la);
    let mut c = one(spec(uniform, 0.0, None), 8);
    assert_ne!(latencies(&mut c, n), la);
    // A normal's negative draws count as 0 ms: about half of Normal(0, 1).
    let mut z = one(
        spec(
            Distribution::Normal {
                mean: 0.0,
                stddev: 1.0,
            },
            0.0,
            None,
        ),
        7,
    );
    let zeros = latencies(&mut z, n).iter().filter(|&&l| l == 0).count();
    assert!((4_500..=5_500).contains(&zeros), "{zeros} zero latencies");
}

#[test]
fn connection_models_see_the_same_draws_for_the_same_call() {
    // Refused calls still draw, so call n has the same latency under any model: runs differ only by connections.
    let lognormal = Distribution::LogNormal {
        median: 20.0,
        sigma: 0.5,
    };
    let mut free = one(spec(lognormal.clone(), 0.2, None), 5);
    let mut limited = one(
        spec(
            lognormal,
            0.2,
            Some(ConnectionModel::PerSandbox { limit: 1 }),
        ),
        5,
    );
    for i in 0..200 {
        let sandbox = SandboxId(i % 2);
        let f = free.call(0, 0, sandbox, S);
        let l = limited.call(0, 0, sandbox, S);
        if sandbox == SandboxId(0) {
            assert_eq!(f, l, "call {i}");
        } else {
            assert!(matches!(l, CallDecision::Refused { .. }), "call {i}");
        }
    }
}

#[test]
fn each_service_draws_from_its_own_stream() {
    let http = ServiceSpec {
        name: "api".into(),
        ..spec(Distribution::Exponential { mean: 30.0 }, 0.5, None)
    };
    let db = spec(Distribution::Exponential { mean: 30.0 }, 0.5, None);
    let mut alone = Services::new(vec![http.clone()], 9).unwrap();
    let mut both = Services::new(vec![http, db], 9).unwrap();
    assert_eq!(both.find("db"), Some(1));
    assert_eq!(both.find("cache"), None);
    for i in 0..100 {
        // Interleaved calls to the second service do not shift the first one's draws.
        both.call(0, 1, SandboxId(i), S);
        assert_eq!(alone.call(0, 0, SandboxId(i), S), {
            let d = both.call(0, 0, SandboxId(i), S);
            match d {
                CallDecision::Completes { at_ns, error, .. } => CallDecision::Completes {
                    call: CallId(i),
                    at_ns,
                    error,
                },
                other => other,
            }
        });
    }
}

#[test]
fn a_proxy_run_is_reproducible() {
    let run = || {
        let mut s = one(
            spec(
                Distribution::Exponential { mean: 40.0 },
                0.05,
                proxy(5, 200 * MS),
            ),
            11,
        );
        let mut log = Vec::new();
        for i in 0..300u64 {
            log.push(format!(
                "{:?}",
                s.call(i * MS, 0, SandboxId(i % 50), i * MS + S)
            ));
            while let Some(a) = s.poll_action() {
                log.push(format!("{a:?}"));
            }
            s.timer(i * MS);
        }
        let st = *s.stats(0);
        assert!(st.balanced());
        assert!(st.waited > 0 && st.peak_connections == 5, "{st:?}");
        (log, st)
    };
    assert_eq!(run(), run());
}

#[test]
fn invalid_specs_are_refused() {
    let bad_rate = spec(constant(1.0), 1.5, None);
    assert_eq!(
        Services::new(vec![bad_rate], 0).unwrap_err().to_string(),
        "service `db`: error_rate 1.5 is outside 0–1"
    );
    let nan = spec(constant(1.0), f64::NAN, None);
    assert!(matches!(
        Services::new(vec![nan], 0),
        Err(ServiceConfigError::ErrorRate { .. })
    ));
    let zero_limit = spec(
        constant(1.0),
        0.0,
        Some(ConnectionModel::PerSandbox { limit: 0 }),
    );
    assert!(matches!(
        Services::new(vec![zero_limit], 0),
        Err(ServiceConfigError::ZeroLimit { .. })
    ));
    assert!(matches!(
        Services::new(vec![spec(constant(1.0), 0.0, proxy(0, 0))], 0),
        Err(ServiceConfigError::ZeroPool { .. })
    ));
    let dup = spec(constant(1.0), 0.0, None);
    assert_eq!(
        Services::new(vec![dup.clone(), dup], 0).unwrap_err(),
        ServiceConfigError::Duplicate { name: "db".into() }
    );
}
