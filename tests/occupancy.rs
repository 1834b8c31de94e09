//! Time-averaged environments against queueing theory: with no concurrency limit that binds, a function is an
//! M/G/∞ system, whose mean number busy is λ·E[S] (and, for any run, Little's law: arrivals per second × mean
//! latency). lambda-sim integrates the busy count exactly, at every change.

mod common;

use common::*;
use lambda_sim::sim::{RunOptions, run_virtual};

#[test]
fn mean_busy_environments_match_m_g_infinity_over_a_long_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mginf.toml");
    // λ = 20/s; service ≈ a lognormal wait of median 100 ms, σ 0.5 (E = 100·e^0.125 ≈ 113.3 ms) plus the
    // handler's few µs of CPU; environments kept 10 minutes, so cold starts are a handful.
    let io = root().join("functions/io");
    std::fs::write(
        &path,
        format!(
            "[simulation]\nduration = \"30m\"\nseed = 7\n\n\
             [[function]]\nname = \"io\"\ncode = {io:?}\nmemory_mb = 1769\ntimeout = 10\n\
             keep_alive = {{ policy = \"fixed\", duration = \"10m\" }}\n\n\
             [[traffic]]\nfunction = \"io\"\npattern = \"poisson\"\nrate = 20\n\
             payload_template = {{ calls = 1, latency_ms = {{ distribution = \"lognormal\", median = 100, sigma = 0.5, integer = true }} }}\n"
        ),
    )
    .unwrap();
    let scenario = lambda_sim::scenario::load(&path).unwrap();
    let deployment = lambda_sim::deploy::deploy(&scenario, &test_cache()).unwrap();
    let report = run_virtual(&scenario, &deployment, &RunOptions::default()).unwrap();
    let f = report.function("io").unwrap();
    assert_eq!(f.outcomes.success, f.arrivals, "{:?}", f.errors);
    let o = &f.occupancy;
    let seconds = report.end_ns as f64 / 1e9;
    let mean_latency_s = f.latency.all.mean / 1e3;
    eprintln!(
        "arrivals {}, mean latency {:.3} ms, mean busy {:.4}, idle {:.4}, alive {:.4}, P(0 busy) {:.4}",
        f.arrivals,
        f.latency.all.mean,
        o.mean_busy,
        o.mean_idle,
        o.mean_alive,
        o.busy_distribution.first().map_or(0.0, |b| b.share)
    );
    // Little's law on the run itself.
    let little = f.arrivals as f64 / seconds * mean_latency_s;
    assert!(
        (o.mean_busy - little).abs() / little < 0.01,
        "mean busy {} vs Little {little}",
        o.mean_busy
    );
    // M/G/∞: λ·E[S], with E[S] the mean service time (cold starts included).
    let theory = 20.0 * mean_latency_s;
    assert!(
        (o.mean_busy - theory).abs() / theory < 0.01,
        "mean busy {} vs λ·E[S] {theory}",
        o.mean_busy
    );
    assert!((2.2..2.4).contains(&o.mean_busy), "{}", o.mean_busy);
    // The busy count is Poisson with mean λ·E[S]: P(0 busy) ≈ e^−2.27 ≈ 0.10.
    let p0 = o
        .busy_distribution
        .iter()
        .find(|b| b.from == 0)
        .map_or(0.0, |b| b.share);
    let expected_p0 = (-o.mean_busy).exp();
    assert!(
        (p0 - expected_p0).abs() < 0.01,
        "P(0 busy) {p0} vs Poisson {expected_p0}"
    );
    let total: f64 = o.busy_distribution.iter().map(|b| b.share).sum();
    assert!((total - 1.0).abs() < 1e-9);
    // Nothing provisioned; utilisation is busy ÷ alive.
    assert_eq!(o.mean_alive_provisioned, 0.0);
    assert!((o.utilisation - o.mean_busy / o.mean_alive).abs() < 1e-12);
    // The total of one function is that function.
    assert_eq!(report.total.occupancy.mean_busy, o.mean_busy);
}
