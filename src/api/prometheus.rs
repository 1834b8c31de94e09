//! `GET /metrics`: the run so far in Prometheus text format.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};

use crate::live::LiveService;
use crate::model::ThrottleReason;
use crate::sandbox::Outcome;

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

pub async fn metrics(State(service): State<LiveService>) -> Response {
    let report = service.snapshot();
    let pools: Vec<_> = (0..service.scenario().functions.len())
        .map(|f| service.with_model(|m, _| m.pool_state(f)))
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP lambda_sim_invocations_total Invocations by outcome (throttled included)."
    );
    let _ = writeln!(out, "# TYPE lambda_sim_invocations_total counter");
    for f in report.functions() {
        for outcome in [
            Outcome::Success,
            Outcome::FunctionError,
            Outcome::Timeout,
            Outcome::OutOfMemory,
            Outcome::Crash,
        ] {
            let _ = writeln!(
                out,
                "lambda_sim_invocations_total{{function=\"{}\",outcome=\"{}\"}} {}",
                f.name,
                outcome.as_str(),
                f.outcomes.get(outcome)
            );
        }
        let _ = writeln!(
            out,
            "lambda_sim_invocations_total{{function=\"{}\",outcome=\"throttled\"}} {}",
            f.name,
            f.throttles.total()
        );
    }
    let _ = writeln!(
        out,
        "# HELP lambda_sim_cold_starts_total Invocations that started a new environment."
    );
    let _ = writeln!(out, "# TYPE lambda_sim_cold_starts_total counter");
    for f in report.functions() {
        let _ = writeln!(
            out,
            "lambda_sim_cold_starts_total{{function=\"{}\"}} {}",
            f.name, f.cold_starts
        );
    }
    let _ = writeln!(out, "# HELP lambda_sim_throttles_total 429s by Reason.");
    let _ = writeln!(out, "# TYPE lambda_sim_throttles_total counter");
    for f in report.functions() {
        for reason in ThrottleReason::ALL {
            let _ = writeln!(
                out,
                "lambda_sim_throttles_total{{function=\"{}\",reason=\"{}\"}} {}",
                f.name,
                reason.as_str(),
                f.throttles.reason(reason)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP lambda_sim_sandboxes Execution environments now, by state (busy = concurrency)."
    );
    let _ = writeln!(out, "# TYPE lambda_sim_sandboxes gauge");
    for (f, pool) in report.functions().iter().zip(&pools) {
        for (state, n) in [
            ("busy", pool.busy),
            ("idle", pool.idle),
            ("initializing", pool.initializing),
        ] {
            let _ = writeln!(
                out,
                "lambda_sim_sandboxes{{function=\"{}\",state=\"{state}\"}} {n}",
                f.name
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP lambda_sim_latency_seconds End-to-end invocation latency."
    );
    let _ = writeln!(out, "# TYPE lambda_sim_latency_seconds histogram");
    for f in report.functions() {
        let h = &f.histograms.all; // microseconds
        for le in BUCKETS {
            let bound = (le * 1e6) as u64;
            let count: u64 = h
                .iter_recorded()
                .filter(|v| v.value_iterated_to() <= bound)
                .map(|v| v.count_at_value())
                .sum();
            let _ = writeln!(
                out,
                "lambda_sim_latency_seconds_bucket{{function=\"{}\",le=\"{le}\"}} {count}",
                f.name
            );
        }
        let _ = writeln!(
            out,
            "lambda_sim_latency_seconds_bucket{{function=\"{}\",le=\"+Inf\"}} {}",
            f.name,
            h.len()
        );
        let _ = writeln!(
            out,
            "lambda_sim_latency_seconds_sum{{function=\"{}\"}} {}",
            f.name,
            h.mean() * h.len() as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "lambda_sim_latency_seconds_count{{function=\"{}\"}} {}",
            f.name,
            h.len()
        );
    }
    let mut r = out.into_response();
    r.headers_mut().insert(
        "Content-Type",
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}
