//! Unit tests of traffic generation: each pattern's counts and timing, closed-loop users, replayed traces, payloads
//! and determinism. Statistical checks use fixed seeds, so they are deterministic; tolerances are still set at about
//! four standard deviations so that a change of RNG stream would not make them fail spuriously.

mod closed_loop;
mod determinism;
mod patterns;
mod replay;

use std::path::Path;

use super::{Arrival, TrafficGenerator};
use crate::scenario::{Scenario, parse};

pub(super) const S: u64 = 1_000_000_000;

/// A scenario of 10 minutes (unless `simulation` says otherwise) with functions `api` and `worker`.
pub(super) fn scenario(simulation: &str, traffic: &str) -> Scenario {
    let text = format!(
        "[simulation]\n{simulation}\n\n[[function]]\nname = \"api\"\ncode = \"functions/hello\"\n\n\
         [[function]]\nname = \"worker\"\ncode = \"functions/hello\"\n\n{traffic}\n"
    );
    match parse(&text, Path::new("/nonexistent/t.toml")) {
        Ok(s) => s,
        Err(e) => panic!("{e}\n{text}"),
    }
}

/// One traffic phase for `api` over `seconds` seconds of simulation.
pub(super) fn one_phase(seconds: u64, body: &str) -> Scenario {
    scenario(
        &format!("duration = {seconds}"),
        &format!("[[traffic]]\nfunction = \"api\"\n{body}"),
    )
}

/// Every arrival of an open-loop scenario.
pub(super) fn all(scenario: &Scenario) -> Vec<Arrival> {
    let mut g = TrafficGenerator::new(scenario).unwrap();
    let mut out = Vec::new();
    while let Some(a) = g.pop() {
        out.push(a);
    }
    out
}

pub(super) fn times(scenario: &Scenario) -> Vec<u64> {
    all(scenario).iter().map(|a| a.time_ns).collect()
}

/// Arrivals in [from, to) seconds.
pub(super) fn count_in(times: &[u64], from: f64, to: f64) -> usize {
    times
        .iter()
        .filter(|&&t| t as f64 >= from * 1e9 && (t as f64) < to * 1e9)
        .count()
}

/// Asserts a Poisson count is within four standard deviations of its mean.
pub(super) fn assert_poisson(count: usize, expected: f64, what: &str) {
    let tolerance = 4.0 * expected.sqrt() + 1.0;
    assert!(
        (count as f64 - expected).abs() <= tolerance,
        "{what}: {count} arrivals, expected {expected:.1} ± {tolerance:.1}"
    );
}
