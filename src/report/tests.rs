//! Tests of the report outputs: JSON (determinism, required keys, decodable histograms), hlog round trip,
//! terminal summary, accessors.

use std::io::Cursor;

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use serde_json::Value;

use super::*;
use crate::metrics::{InvocationSample, PoolState, RunMetrics, StartKind};
use crate::model::Outcome;
use crate::model::{DestroyReason, ThrottleCause, ThrottleReason};
use crate::scenario::{Architecture, Mode};

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

fn configs() -> Vec<FunctionConfig> {
    vec![
        FunctionConfig {
            name: "api".into(),
            memory_mb: 128,
            architecture: Architecture::X86_64,
            reserved_concurrency: Some(10),
            provisioned_concurrency: 0,
            provisioned_allocation_delay_ns: 0,
            code_bytes: 107_000,
            snapshot: false,
        },
        FunctionConfig {
            name: "my worker".into(), // a space: the hlog tag must be sanitized
            memory_mb: 1024,
            architecture: Architecture::Arm64,
            reserved_concurrency: None,
            provisioned_concurrency: 2,
            provisioned_allocation_delay_ns: S,
            code_bytes: 2_600_000,
            snapshot: false,
        },
    ]
}

/// A small deterministic run: `api` gets 1000 requests (10 throttled, 5 cold), `my worker` 50 on PC + 2 cold.
fn build() -> RunReport {
    let run = RunInfo {
        name: "unit".into(),
        seed: 42,
        mode: Mode::Virtual,
        duration_ns: 20 * S,
        not_lambda: Vec::new(),
    };
    let mut m = RunMetrics::with_config(run, configs());
    let mut x: u64 = 12345;
    let mut rand = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    m.sandbox_created(1, S, true);
    m.sandbox_created(1, S, true);
    m.provisioned_init(1, S, 120 * MS);
    m.provisioned_init(1, S, 130 * MS);
    for i in 0..1000u64 {
        let t = i * 20 * MS;
        m.arrival(0, t);
        if i % 100 == 99 {
            let reason = if i % 200 == 99 {
                ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded
            } else {
                ThrottleReason::ConcurrentInvocationLimitExceeded
            };
            m.throttled(0, t, reason, ThrottleCause::Concurrency);
            continue;
        }
        let cold = i % 200 == 0;
        let latency = if cold {
            300 * MS + rand() % (50 * MS)
        } else {
            5 * MS + rand() % (20 * MS)
        };
        if cold {
            m.sandbox_created(0, t, false);
        }
        m.pool_state(
            0,
            t,
            PoolState {
                busy: 1 + (i % 3) as u32,
                idle: 2,
                initializing: 0,
                ..PoolState::default()
            },
        );
        m.invocation(
            0,
            &InvocationSample {
                arrival_ns: t,
                end_ns: t + latency,
                start: if cold {
                    StartKind::Cold
                } else {
                    StartKind::Warm
                },
                parts: Default::default(),
                init_ns: cold.then_some(200 * MS),
                restore_ns: None,
                duration_ns: latency,
                billed_ms: latency.div_ceil(MS),
                outcome: if i % 97 == 0 {
                    Outcome::FunctionError
                } else {
                    Outcome::Success
                },
                error_type: (i % 97 == 0).then(|| "MyError".into()),
                peak_memory_bytes: 1 << 20,
            },
        );
    }
    for i in 0..52u64 {
        let t = 2 * S + i * 100 * MS;
        let start = if i < 50 {
            StartKind::Provisioned
        } else {
            StartKind::Cold
        };
        m.arrival(1, t);
        m.pool_state(
            1,
            t,
            PoolState {
                busy: 1,
                idle: 1,
                initializing: 0,
                ..PoolState::default()
            },
        );
        m.invocation(
            1,
            &InvocationSample {
                arrival_ns: t,
                end_ns: t + 40 * MS,
                start,
                parts: Default::default(),
                init_ns: None,
                restore_ns: None,
                duration_ns: 40 * MS,
                billed_ms: 40,
                outcome: Outcome::Success,
                error_type: None,
                peak_memory_bytes: 0,
            },
        );
    }
    for f in 0..2 {
        m.pool_state(f, 20 * S, PoolState::default());
    }
    m.sandbox_destroyed(0, 20 * S, DestroyReason::EndOfRun, 19 * S, 5 * S, false);
    m.sandbox_destroyed(1, 20 * S, DestroyReason::EndOfRun, 19 * S, 2 * S, true);
    m.finish(20 * S + 5 * MS)
}

fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| {
        v.get(k)
            .unwrap_or_else(|| panic!("missing key {path} (at {k})"))
    })
}

#[test]
fn json_is_deterministic() {
    let (a, b) = (build().to_json(), build().to_json());
    assert_eq!(a, b);
    assert!(a.len() > 1000);
}

#[test]
fn json_has_every_required_key() {
    let r = build();
    let v: Value = serde_json::from_str(&r.to_json()).expect("valid JSON");
    assert_eq!(at(&v, "seed"), 42);
    assert_eq!(at(&v, "mode"), "virtual");
    assert_eq!(at(&v, "scenario"), "unit");
    for name in ["api", "my worker"] {
        let f = v["functions"].get(name).expect(name);
        for (p, src) in [(f, r.function(name).unwrap()), (&v["total"], &r.total)] {
            assert_eq!(at(p, "arrivals"), src.arrivals);
            for o in [
                "success",
                "function_error",
                "timeout",
                "out_of_memory",
                "crash",
                "throttled",
            ] {
                assert!(at(p, &format!("outcomes.{o}")).is_u64(), "outcomes.{o}");
            }
            for reason in [
                "ConcurrentInvocationLimitExceeded",
                "ReservedFunctionConcurrentInvocationLimitExceeded",
            ] {
                assert!(at(p, &format!("throttles.{reason}")).is_u64());
            }
            assert!(at(p, "cold_starts").is_u64() && at(p, "warm_starts").is_u64());
            for kind in ["all", "cold", "warm", "init"] {
                for stat in ["p50", "p90", "p99", "p999", "max", "mean"] {
                    assert!(at(p, &format!("latency_ms.{kind}.{stat}")).is_number());
                }
                assert!(at(p, &format!("latency_ms.{kind}.count")).is_u64());
            }
            assert!(at(p, "peak_concurrency").is_u64());
            for c in [
                "requests",
                "duration",
                "provisioned_capacity",
                "provisioned_duration",
                "total",
            ] {
                assert!(at(p, &format!("cost_usd.{c}")).is_number());
            }
            for h in ["all", "cold", "warm", "init", "billed"] {
                assert!(at(p, &format!("histograms.{h}")).is_string());
            }
            assert!(at(p, "conservation.ok").as_bool().unwrap());
        }
        for col in [
            "arrivals",
            "cold_starts",
            "throttles",
            "max_concurrency",
            "alive",
            "idle",
        ] {
            let series = at(&v["timeline"]["functions"][name], col)
                .as_array()
                .expect(col);
            assert_eq!(
                series.len() as u64,
                at(&v, "timeline.buckets").as_u64().unwrap()
            );
        }
    }
    assert!(v["total"].get("config").is_none());
    assert_eq!(at(&v, "functions.api.config.reserved_concurrency"), 10);
    assert!(at(&v, "functions.my worker.config.reserved_concurrency").is_null());
    assert_eq!(at(&v, "functions.my worker.config.architecture"), "arm64");
    assert_eq!(at(&v, "conservation.arrivals"), 1052);
    assert_eq!(at(&v, "conservation.outcomes_total"), 1052);
    assert_eq!(at(&v, "conservation.ok"), true);
    assert_eq!(at(&v, "timeline.bucket_s"), 1);
    assert_eq!(at(&v, "timeline.buckets"), 21);
    assert_eq!(at(&v, "functions.api.outcomes.throttled"), 10);
    assert_eq!(
        at(
            &v,
            "functions.api.throttles.ReservedFunctionConcurrentInvocationLimitExceeded"
        ),
        5
    );
    assert_eq!(at(&v, "functions.api.cold_starts"), 5);
    assert_eq!(at(&v, "total.latency_ms.all.count"), 1042);
    // Empty histograms: zeros and count 0.
    let cold_worker_init = at(&v, "functions.my worker.latency_ms.init");
    assert_eq!(cold_worker_init["count"], 0);
    assert_eq!(cold_worker_init["p99"], 0.0);
    // Timeline arrays sum to the counts.
    let sum = |p: &str| {
        at(&v, p)
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(sum("timeline.total.arrivals"), 1052);
    assert_eq!(sum("timeline.total.cold_starts"), 7);
    assert_eq!(sum("timeline.functions.api.throttles"), 10);
}

#[test]
fn json_histograms_decode_to_the_recorded_counts() {
    let r = build();
    let v: Value = serde_json::from_str(&r.to_json()).unwrap();
    for (path, want) in [
        ("functions.api.histograms.all", 990),
        ("functions.api.histograms.cold", 5),
        ("functions.api.histograms.init", 5),
        ("functions.my worker.histograms.warm", 50),
        ("total.histograms.billed", 1042),
    ] {
        let b64 = at(&v, path).as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut Cursor::new(bytes))
            .unwrap();
        assert_eq!(h.len(), want, "{path}");
    }
}

#[test]
fn json_floats_are_rounded() {
    let v: Value = serde_json::from_str(&build().to_json()).unwrap();
    let p50 = at(&v, "functions.api.latency_ms.all.p50").as_f64().unwrap();
    assert_eq!((p50 * 1000.0).round() / 1000.0, p50);
    let text = build().to_json();
    // Arrays are on one line; objects are indented.
    assert!(
        text.contains("\"arrivals\": [50,50,"),
        "{}",
        &text[text.find("timeline").unwrap()..][..300]
    );
    assert!(text.starts_with("{\n  \"lambda_sim_version\": "));
}

#[test]
fn hlog_round_trips() {
    let r = build();
    let mut out = Vec::new();
    r.write_hlog(&mut out).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.starts_with("#[Histogram log format version 1.3]\n"));
    assert!(text.contains("#[StartTime: 0.000 (seconds since epoch)]"));
    assert!(text.contains("#[BaseTime: 0.000 (seconds since epoch)]"));
    let mut untagged = 0u64;
    let mut api = 0u64;
    let mut worker = 0u64;
    let mut intervals = 0;
    let (mut start_seen, mut base_seen) = (false, false);
    let mut last_start = None;
    for entry in IntervalLogIterator::new(&out) {
        match entry.expect("parses") {
            LogEntry::StartTime(t) => start_seen = t.as_secs() == 0,
            LogEntry::BaseTime(t) => base_seen = t.as_secs() == 0,
            LogEntry::Interval(ilh) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(ilh.encoded_histogram())
                    .unwrap();
                let h: Histogram<u64> = Deserializer::new()
                    .deserialize(&mut Cursor::new(bytes))
                    .unwrap();
                match ilh.tag().map(|t| t.as_str().to_string()) {
                    None => {
                        untagged += h.len();
                        intervals += 1;
                        assert!(last_start.is_none_or(|s| s < ilh.start_timestamp()));
                        last_start = Some(ilh.start_timestamp());
                    }
                    Some(t) if t == "api" => api += h.len(),
                    Some(t) if t == "my_worker" => worker += h.len(),
                    Some(t) => panic!("unexpected tag {t}"),
                }
            }
        }
    }
    assert!(start_seen && base_seen);
    assert_eq!(untagged, 1042);
    assert_eq!(api, 990);
    assert_eq!(worker, 52);
    assert_eq!(intervals, 21, "one per second over 20.005 s");
    assert_eq!(r.hlog_interval_ns, S);
}

#[test]
fn summary_is_aligned_and_narrow() {
    let s = build().summary();
    for line in s.lines() {
        assert!(
            line.chars().count() <= 100,
            "too wide ({}): {line}",
            line.chars().count()
        );
    }
    assert!(
        s.contains("arrivals 1000 = 979 success + 11 function_error + 10 throttled ✓"),
        "{s}"
    );
    assert!(s.contains("ReservedFunctionConcurrentInvocationLimitExceeded"));
    assert!(s.contains("total · 2 functions"));
    assert!(s.contains("no free tier"));
    // The percentile columns line up under their headers.
    let header = s.lines().find(|l| l.contains("p99.9")).unwrap();
    let all = s
        .lines()
        .find(|l| l.trim_start().starts_with("all "))
        .unwrap();
    assert_eq!(header.len(), all.len());
    println!("{s}");
}

#[test]
fn summary_flags_broken_conservation() {
    let run = RunInfo {
        name: "x".into(),
        seed: 1,
        mode: Mode::Realtime,
        duration_ns: S,
        not_lambda: Vec::new(),
    };
    let mut m = RunMetrics::with_config(run, configs());
    m.arrival(0, 0);
    let r = m.finish(S);
    assert!(!r.conservation_ok());
    let s = r.summary();
    assert!(s.contains("arrivals 1 ≠ 0 outcomes: 0 ✗ MISMATCH"), "{s}");
    assert!(s.contains("CONSERVATION FAILED"));
    let v: Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(at(&v, "conservation.ok"), false);
    assert_eq!(at(&v, "mode"), "realtime");
}

#[test]
fn accessors() {
    let r = build();
    assert_eq!(r.functions().len(), 2);
    assert!(r.function("nope").is_none());
    let api = r.function("api").unwrap();
    assert_eq!(api.arrivals, 1000);
    assert_eq!(api.outcomes.total(), 1000);
    assert_eq!(api.throttles.total(), 10);
    assert_eq!(api.cold_starts, 5);
    assert_eq!(api.peak_concurrency, 3);
    assert!(api.latency.cold.p50 >= 300.0 && api.latency.cold.p50 <= 350.0);
    assert!(api.latency.warm.p99 <= 25.0);
    assert_eq!(api.latency.init.p50, 200.0);
    assert!(api.cost.total > 0.0);
    let w = r.function("my worker").unwrap();
    assert_eq!((w.provisioned_starts, w.cold_starts), (50, 2));
    assert!(w.cost.provisioned_capacity > 0.0);
    assert_eq!(r.total().peak_concurrency, 4);
}

/// A run of many functions (a replayed trace): the summary shows the 10 busiest and says how many more there are;
/// the total covers them all, at full precision, and hlog intervals exist for the total only.
#[test]
fn many_functions_summary_shows_the_busiest_ten_and_the_total() {
    let run = RunInfo {
        name: "many".into(),
        seed: 1,
        mode: Mode::Virtual,
        duration_ns: 10 * S,
        not_lambda: Vec::new(),
    };
    let configs: Vec<FunctionConfig> = (0..40)
        .map(|i| FunctionConfig {
            name: format!("fn{i:02}"),
            ..configs()[0].clone()
        })
        .collect();
    let mut m = RunMetrics::with_config(run, configs);
    for f in 0..40 {
        // fn39 is the busiest: function i gets i + 1 invocations.
        for k in 0..=f as u64 {
            let t = k * 10 * MS;
            m.arrival(f, t);
            m.invocation(
                f,
                &InvocationSample {
                    arrival_ns: t,
                    end_ns: t + 5 * MS,
                    start: StartKind::Warm,
                    parts: Default::default(),
                    init_ns: None,
                    restore_ns: None,
                    duration_ns: 5 * MS,
                    billed_ms: 5,
                    outcome: Outcome::Success,
                    error_type: None,
                    peak_memory_bytes: 0,
                },
            );
        }
    }
    let r = m.finish(10 * S);
    let text = r.summary();
    let shown: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("fn"))
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        shown,
        [
            "fn39", "fn38", "fn37", "fn36", "fn35", "fn34", "fn33", "fn32", "fn31", "fn30"
        ]
    );
    assert!(text.contains("… 30 more functions not shown"), "{text}");
    assert!(text.contains("total · 40 functions"), "{text}");
    assert_eq!(r.total.latency.all.count, (1..=40).sum::<u64>());
    assert_eq!(
        r.total.latency.all.p50, 5.0,
        "the total keeps 3 significant digits"
    );
    assert!(r.functions.iter().all(|f| f.intervals.is_empty()));
    assert!(r.total.intervals.iter().any(Option::is_some));
    assert_eq!(r.functions.len(), 40, "JSON keeps every function");
}
