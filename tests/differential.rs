//! The two drivers agree: the same scenarios, run in virtual time and in real time through the one invocation
//! lifecycle, end with the same outcome counts and the same error types, function by function. Real time cannot be
//! byte-identical (its durations are measured), so the scenarios are chosen so that their outcomes do not depend on
//! timing: misbehaving handlers, the real-time services example, and a plain one.

mod common;

use std::collections::BTreeMap;

use common::*;
use lambda_sim::report::{OutcomeCounts, RunReport};
use lambda_sim::sim::{RunOptions, run_virtual};

/// Per function: outcome counts and failed invocations by error type.
type Outcomes = BTreeMap<String, (OutcomeCounts, BTreeMap<String, u64>)>;

fn outcomes(report: &RunReport) -> Outcomes {
    report
        .functions
        .iter()
        .map(|f| (f.name.clone(), (f.outcomes, f.errors.clone())))
        .collect()
}

/// Runs `path` in both drivers; returns the virtual run's outcomes after checking the real run's are the same.
fn both(path: &str) -> Outcomes {
    let scenario = lambda_sim::scenario::load(&root().join(path)).unwrap_or_else(|e| panic!("{e}"));
    let deployment =
        lambda_sim::deploy::deploy(&scenario, &test_cache()).unwrap_or_else(|e| panic!("{e}"));
    let virtual_ = run_virtual(&scenario, &deployment, &RunOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let real = run_realtime(scenario, None);
    let (v, r) = (outcomes(&virtual_), outcomes(&real));
    for (name, (vo, ve)) in &v {
        let (ro, re) = &r[name];
        assert_eq!(
            (vo, ve),
            (ro, re),
            "{path}: function {name}: virtual time {vo:?} {ve:?}, real time {ro:?} {re:?}"
        );
    }
    assert!(virtual_.conservation_ok() && real.conservation_ok());
    v
}

fn errors(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

#[test]
fn misbehaving_handlers_end_the_same_way_in_both_drivers() {
    let v = both("tests/fixtures/differential/adversarial.toml");
    let of = |name: &str| &v[name];
    // And the way Lambda ends them.
    assert_eq!(of("hello").0.success, 2);
    assert_eq!(of("snap").0.success, 2, "snapshot restores");
    assert_eq!(of("query").0.success, 2, "a service call");
    assert_eq!(of("too-big").0.out_of_memory, 2);
    assert_eq!(of("too-big").1, errors(&[("Runtime.OutOfMemory", 2)]));
    assert_eq!(of("bomb").0.out_of_memory, 2);
    assert_eq!(of("trap").0.crash, 2);
    assert_eq!(of("trap").1, errors(&[("Runtime.ExitError", 2)]));
    for name in ["spin", "sleeper"] {
        assert_eq!(of(name).0.timeout, 2, "{name}");
        assert_eq!(of(name).1, errors(&[("Sandbox.Timedout", 2)]), "{name}");
    }
    for name in ["init-loop", "start-loop"] {
        assert_eq!(
            of(name).0.timeout,
            1,
            "{name}: init cut at 10 s, retried in the invocation"
        );
    }
}

#[test]
fn the_real_time_services_example_ends_the_same_way_in_both_drivers() {
    let v = both("tests/fixtures/rt-services.toml");
    assert_eq!(v["api"].0.success, 6);
    // One connection per sandbox, one allowed: two of the three simultaneous queries are refused.
    assert_eq!(v["reports"].0.function_error, 2);
    assert_eq!(v["reports"].1, errors(&[("ServiceConnectionError", 2)]));
}
