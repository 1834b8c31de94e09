//! Valid scenarios: every field parsed, defaults, durations, templates and path resolution.

use std::path::Path;

use super::{HEADER, PATH, ok};
use crate::limits::NS_PER_S;
use crate::scenario::{
    Architecture, Distribution, KeepAlivePolicy, Mode, Pattern, PayloadSpec, PayloadTemplate,
    ScalingModel, ScalingRefill, defaults, load, parse, resolve_path,
};

const MIN: u64 = 60 * NS_PER_S;

#[test]
fn minimal_scenario_gets_defaults() {
    let s = ok(HEADER);
    assert_eq!(s.path, Path::new(PATH));
    assert_eq!(s.simulation.name, "test");
    assert_eq!(s.simulation.duration_ns, 10 * MIN);
    assert_eq!(s.simulation.seed, 1);
    assert_eq!(s.simulation.mode, Mode::Virtual);
    assert_eq!(s.simulation.ps_per_fuel, crate::cpu::DEFAULT_PS_PER_FUEL);
    assert_eq!(s.account.concurrency_limit, 1000);
    assert_eq!(s.account.unreserved_minimum, 100);
    assert_eq!(
        s.account.scaling,
        ScalingModel::PerFunction {
            environments: 1000,
            window_ns: 10 * NS_PER_S
        }
    );
    let f = &s.functions[0];
    assert_eq!(f.name, "api");
    assert_eq!(f.code, Path::new("functions/hello"));
    assert_eq!(f.memory_mb, 128);
    assert_eq!(f.timeout_ns, 3 * NS_PER_S);
    assert_eq!(f.reserved_concurrency, None);
    assert_eq!(f.provisioned_concurrency, 0);
    assert_eq!(f.provisioned_allocation_delay_ns, 60 * NS_PER_S);
    assert_eq!(
        f.keep_alive,
        KeepAlivePolicy::Lambda {
            min_ns: 5 * MIN,
            max_ns: 7 * MIN
        }
    );
    assert_eq!(f.max_lifetime_ns, Some(240 * MIN));
    assert_eq!(f.architecture, Architecture::X86_64);
    assert_eq!(
        f.cold_start.placement_ms,
        Distribution::LogNormal {
            median: 90.0,
            sigma: 0.35
        }
    );
    assert_eq!(f.cold_start.download_bytes_per_s, 50_000_000);
    assert!(s.traffic.is_empty());
}

#[test]
fn full_scenario() {
    let text = r#"
[simulation]
name = "spike-throttle"
duration = "1h 30m"
seed = 42
mode = "realtime"
ns_per_fuel = 0.25

[account]
concurrency_limit = 500
unreserved_minimum = 100
scaling = "legacy"
legacy_burst = 1000
scaling_refill = "stepwise"

[not_lambda]
unreserved_minimum = 50

[[function]]
name = "api"
code = "functions/hello"
memory_mb = 1769
timeout = "1500ms"
reserved_concurrency = 100
provisioned_concurrency = 10
provisioned_allocation_delay = 0
keep_alive = { policy = "fixed", duration = "10m" }
max_lifetime = "none"
architecture = "arm64"
cold_start = { placement_ms = { distribution = "uniform", min = 50, max = 150 }, download_mbps = 12.5 }

[[function]]
name = "worker_2"
code = "functions/hello"
timeout = 900
keep_alive = { policy = "none" }
max_lifetime = 3600
provisioned_concurrency = 350

[[traffic]]
function = "worker_2"
pattern = "poisson"
start = "1m"
duration = "5m"
rate = 10.5
payload = '{"name":"x"}'

[[traffic]]
function = "api"
pattern = "ramp"
from_rate = 0
to_rate = 100
invocation = "request_response"

[[traffic]]
function = "api"
pattern = "spike"
start = 120
count = 500
window = "2s"

[[traffic]]
function = "api"
pattern = "step"
steps = [{ at = "0s", rate = 5 }, { at = "2m", rate = 50 }, { at = 300, rate = 0 }]

[[traffic]]
function = "api"
pattern = "sine"
mean_rate = 10
amplitude = 8
period = "24h"

[[traffic]]
function = "api"
pattern = "closed_loop"
users = 20
think_time_ms = { distribution = "exponential", mean = 500 }
payload_template = { name = "x", wait_ms = { distribution = "exponential", mean = 2000, integer = true } }

[[traffic]]
function = "api"
pattern = "constant"
rate = 1
start = "89m"
duration = "1h"
"#;
    let s = ok(text);
    assert_eq!(s.simulation.name, "spike-throttle");
    assert_eq!(s.simulation.duration_ns, 90 * MIN);
    assert_eq!(s.simulation.seed, 42);
    assert_eq!(s.simulation.mode, Mode::Realtime);
    assert_eq!(s.simulation.ps_per_fuel, 250);
    assert_eq!(s.account.concurrency_limit, 500);
    assert_eq!(s.account.unreserved_minimum, 50);
    assert_eq!(s.not_lambda.unreserved_minimum, Some(50));
    assert_eq!(s.account.scaling_refill, ScalingRefill::Stepwise);
    assert_eq!(
        s.not_lambda.describe(500),
        ["unreserved_minimum = 50 (Lambda keeps 100)"]
    );
    assert_eq!(
        s.account.scaling,
        ScalingModel::Legacy {
            burst: 1000,
            per_minute: 500
        }
    );

    let api = &s.functions[0];
    assert_eq!(api.memory_mb, 1769);
    assert_eq!(api.timeout_ns, 1_500_000_000);
    assert_eq!(api.reserved_concurrency, Some(100));
    assert_eq!(api.provisioned_concurrency, 10);
    assert_eq!(api.provisioned_allocation_delay_ns, 0);
    assert_eq!(api.keep_alive, KeepAlivePolicy::Fixed { idle_ns: 10 * MIN });
    assert_eq!(api.max_lifetime_ns, None);
    assert_eq!(api.architecture, Architecture::Arm64);
    assert_eq!(
        api.cold_start.placement_ms,
        Distribution::Uniform {
            min: 50.0,
            max: 150.0
        }
    );
    assert_eq!(api.cold_start.download_bytes_per_s, 12_500_000);
    let worker = &s.functions[1];
    assert_eq!(worker.timeout_ns, 900 * NS_PER_S);
    assert_eq!(worker.keep_alive, KeepAlivePolicy::None);
    assert_eq!(worker.max_lifetime_ns, Some(3600 * NS_PER_S));
    // 500 − 100 reserved − 50 minimum = 350 provisionable on unreserved functions.
    assert_eq!(worker.provisioned_concurrency, 350);

    let t = &s.traffic;
    assert_eq!(t.len(), 7);
    assert_eq!(
        (t[0].function(), t[0].start_ns, t[0].end_ns),
        (Some(1), MIN, 6 * MIN)
    );
    assert_eq!(t[0].pattern, Pattern::Poisson { rate: 10.5 });
    assert_eq!(t[0].payload, PayloadSpec::Fixed(r#"{"name":"x"}"#.into()));
    assert_eq!(
        (t[1].function(), t[1].start_ns, t[1].end_ns),
        (Some(0), 0, 90 * MIN)
    );
    assert_eq!(
        t[1].pattern,
        Pattern::Ramp {
            from_rate: 0.0,
            to_rate: 100.0
        }
    );
    assert_eq!(t[1].payload, PayloadSpec::Fixed("{}".into()));
    assert_eq!(
        t[2].pattern,
        Pattern::Spike {
            count: 500,
            window_ns: 2 * NS_PER_S
        }
    );
    assert_eq!(t[2].start_ns, 2 * MIN);
    assert_eq!(
        t[3].pattern,
        Pattern::Step {
            steps: vec![(0, 5.0), (2 * MIN, 50.0), (5 * MIN, 0.0)]
        }
    );
    assert_eq!(
        t[4].pattern,
        Pattern::Sine {
            mean_rate: 10.0,
            amplitude: 8.0,
            period_ns: 24 * 60 * MIN
        }
    );
    assert_eq!(
        t[5].pattern,
        Pattern::ClosedLoop {
            users: 20,
            think_time_ms: Distribution::Exponential { mean: 500.0 }
        }
    );
    assert_eq!(
        t[5].payload,
        PayloadSpec::Template(PayloadTemplate::Object(vec![
            ("name".into(), PayloadTemplate::Literal("x".into())),
            (
                "wait_ms".into(),
                PayloadTemplate::Sample {
                    distribution: Distribution::Exponential { mean: 2000.0 },
                    integer: true
                }
            ),
        ]))
    );
    // Clipped to the simulation's end.
    assert_eq!((t[6].start_ns, t[6].end_ns), (89 * MIN, 90 * MIN));
}

#[test]
fn durations_in_every_form() {
    for (written, ns) in [
        ("\"90s\"", 90 * NS_PER_S),
        ("\"10m\"", 10 * MIN),
        ("\"1h 30m\"", 90 * MIN),
        ("\"250ms\"", 250_000_000),
        ("90", 90 * NS_PER_S),
        ("1.5", 1_500_000_000),
        ("\"90\"", 90 * NS_PER_S),
    ] {
        let s = ok(&format!(
            "[simulation]\nduration = {written}\n[[function]]\nname = \"a\"\ncode = \"functions/hello\"\n"
        ));
        assert_eq!(s.simulation.duration_ns, ns, "{written}");
    }
}

#[test]
fn unreserved_minimum_defaults_to_the_limit_when_lower() {
    let s = ok(&format!("{HEADER}\n[account]\nconcurrency_limit = 50\n"));
    assert_eq!(s.account.unreserved_minimum, 50);
    let s = ok(&format!("{HEADER}\n[account]\nscaling = \"legacy\"\n"));
    assert_eq!(
        s.account.scaling,
        ScalingModel::Legacy {
            burst: 3000,
            per_minute: 500
        }
    );
}

#[test]
fn every_distribution_form() {
    let cases = [
        (
            "{ distribution = \"constant\", value = 3 }",
            Distribution::Constant { value: 3.0 },
        ),
        (
            "{ distribution = \"uniform\", min = 1, max = 1 }",
            Distribution::Uniform { min: 1.0, max: 1.0 },
        ),
        (
            "{ distribution = \"normal\", mean = -5, stddev = 0 }",
            Distribution::Normal {
                mean: -5.0,
                stddev: 0.0,
            },
        ),
        (
            "{ distribution = \"lognormal\", median = 2.5, sigma = 1 }",
            Distribution::LogNormal {
                median: 2.5,
                sigma: 1.0,
            },
        ),
        (
            "{ distribution = \"empirical\", values = [1, 2.5] }",
            Distribution::Empirical {
                values: vec![1.0, 2.5],
                weights: vec![],
            },
        ),
        (
            "{ distribution = \"empirical\", values = [1, 2], weights = [0, 3] }",
            Distribution::Empirical {
                values: vec![1.0, 2.0],
                weights: vec![0.0, 3.0],
            },
        ),
    ];
    for (written, expected) in cases {
        let s = ok(&format!(
            "{HEADER}\n[[traffic]]\nfunction = \"api\"\npattern = \"closed_loop\"\nusers = 1\nthink_time_ms = {written}\n"
        ));
        let Pattern::ClosedLoop { think_time_ms, .. } = &s.traffic[0].pattern else {
            panic!()
        };
        assert_eq!(think_time_ms, &expected, "{written}");
    }
}

#[test]
fn template_keeps_written_order_and_converts_literals() {
    let text = format!(
        r#"{HEADER}
[[traffic]]
function = "api"
pattern = "constant"
rate = 1

[traffic.payload_template]
zeta = "z"
count = {{ distribution = "uniform", min = 1, max = 2 }}
alpha = [1, 2.5, true, {{ b = 1, a = 2 }}]
when = 1979-05-27T07:32:00Z
nested = {{ y = 1, x = {{ distribution = "constant", value = 4, integer = false }} }}
"#
    );
    let s = ok(&text);
    let PayloadSpec::Template(PayloadTemplate::Object(fields)) = &s.traffic[0].payload else {
        panic!()
    };
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["zeta", "count", "alpha", "when", "nested"]);
    assert_eq!(
        fields[2].1,
        PayloadTemplate::Literal(serde_json::json!([1, 2.5, true, {"a": 2, "b": 1}]))
    );
    assert_eq!(
        fields[3].1,
        PayloadTemplate::Literal("1979-05-27T07:32:00Z".into())
    );
    assert_eq!(
        fields[4].1,
        PayloadTemplate::Object(vec![
            ("y".into(), PayloadTemplate::Literal(1.into())),
            (
                "x".into(),
                PayloadTemplate::Sample {
                    distribution: Distribution::Constant { value: 4.0 },
                    integer: false
                }
            ),
        ])
    );
}

#[test]
fn files_resolve_against_the_scenario_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    std::fs::create_dir_all(dir.path().join("traces")).unwrap();
    std::fs::create_dir_all(dir.path().join("code")).unwrap();
    std::fs::write(dir.path().join("events/e.json"), "{\"k\": [1, 2]}\n").unwrap();
    std::fs::write(dir.path().join("traces/a.csv"), "0.5\n").unwrap();
    std::fs::write(dir.path().join("code/f.wat"), "(module)").unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        r#"
[simulation]
duration = 60
[[function]]
name = "f"
code = "code/f.wat"
[[traffic]]
function = "f"
pattern = "replay"
file = "traces/a.csv"
payload_file = "events/e.json"
"#,
    )
    .unwrap();
    let s = load(&path).unwrap();
    assert_eq!(s.simulation.name, "s");
    assert_eq!(s.functions[0].code, dir.path().join("code/f.wat"));
    assert_eq!(
        s.traffic[0].pattern,
        Pattern::Replay {
            file: dir.path().join("traces/a.csv")
        }
    );
    assert_eq!(
        s.traffic[0].payload,
        PayloadSpec::Fixed("{\"k\": [1, 2]}\n".into())
    );

    // resolve_path: absolute kept, existing-from-cwd kept, otherwise beside the scenario.
    assert_eq!(
        resolve_path(&path, Path::new("/abs/x")),
        Path::new("/abs/x")
    );
    assert_eq!(
        resolve_path(&path, Path::new("functions/hello")),
        Path::new("functions/hello")
    );
    assert_eq!(
        resolve_path(&path, Path::new("nope/x")),
        dir.path().join("nope/x")
    );
    assert_eq!(
        resolve_path(Path::new("s.toml"), Path::new("nope/x")),
        Path::new("nope/x")
    );
}

#[test]
fn defaults_module_matches_parsed_defaults() {
    assert_eq!(
        defaults::placement_ms(),
        ok(HEADER).functions[0].cold_start.placement_ms
    );
    assert!(parse(HEADER, Path::new("x.toml")).is_ok());
}

#[test]
fn the_example_scenarios_load() {
    let mut files: Vec<_> = ["scenarios", "scenarios/bench"]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for path in &files {
        let scenario = load(path).unwrap_or_else(|e| panic!("{e}"));
        crate::traffic::TrafficGenerator::new(&scenario).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn lambda_keep_alive_follows_the_measurements_of_an_era() {
    let policy = |era: &str| {
        let s = ok(&format!(
            "[simulation]\nduration = \"1m\"\n[[function]]\nname = \"a\"\ncode = \"functions/hello\"\n\
             keep_alive = {{ policy = \"lambda\"{era} }}\n"
        ));
        s.functions[0].keep_alive.clone()
    };
    let m = 60 * NS_PER_S;
    let lambda = |min: u64, max: u64| KeepAlivePolicy::Lambda {
        min_ns: min * m,
        max_ns: max * m,
    };
    assert_eq!(policy(""), lambda(5, 7));
    assert_eq!(policy(", era = \"2020\""), lambda(5, 7));
    assert_eq!(policy(", era = \"2019\""), lambda(10, 10));
    assert_eq!(policy(", era = \"2017\""), lambda(25, 65));
}
