//! Seeds, independence of phases and payload rendering.

use super::{all, scenario};
use crate::scenario::Target;
use crate::traffic::Arrival;

const TRAFFIC: &str = r#"
[[traffic]]
function = "api"
pattern = "poisson"
rate = 30
payload_template = { name = "x", wait_ms = { distribution = "exponential", mean = 2000, integer = true }, f = { distribution = "uniform", min = 0, max = 1 } }

[[traffic]]
function = "worker"
pattern = "ramp"
from_rate = 1
to_rate = 20
payload = '{"fixed":true}'

[[traffic]]
function = "api"
pattern = "spike"
count = 50
window = "30s"
start = 20
"#;

fn key(a: &Arrival) -> (u64, Target, Vec<u8>) {
    (a.time_ns, a.target, a.payload.to_vec())
}

#[test]
fn same_seed_same_sequence() {
    let s = scenario("duration = 60\nseed = 7", TRAFFIC);
    let a: Vec<_> = all(&s).iter().map(key).collect();
    let b: Vec<_> = all(&s).iter().map(key).collect();
    assert!(a.len() > 1000);
    assert_eq!(a, b);
}

#[test]
fn different_seeds_differ() {
    let a: Vec<_> = all(&scenario("duration = 60\nseed = 7", TRAFFIC))
        .iter()
        .map(key)
        .collect();
    let b: Vec<_> = all(&scenario("duration = 60\nseed = 8", TRAFFIC))
        .iter()
        .map(key)
        .collect();
    assert_ne!(a, b);
    let times_a: Vec<u64> = a.iter().map(|k| k.0).collect();
    let times_b: Vec<u64> = b.iter().map(|k| k.0).collect();
    assert_ne!(times_a, times_b);
}

#[test]
fn adding_a_phase_does_not_shift_the_others() {
    let base = scenario("duration = 60\nseed = 3", TRAFFIC);
    let more = scenario(
        "duration = 60\nseed = 3",
        &format!(
            "{TRAFFIC}\n[[traffic]]\nfunction = \"worker\"\npattern = \"poisson\"\nrate = 100\n"
        ),
    );
    let api = |s| {
        all(s)
            .into_iter()
            .filter(|a| a.target == Target::Function(0))
            .map(|a| key(&a))
            .collect::<Vec<_>>()
    };
    assert_eq!(api(&base), api(&more));
}

#[test]
fn payload_samples_do_not_shift_arrival_times() {
    let fixed = scenario(
        "duration = 60\nseed = 3",
        "[[traffic]]\nfunction = \"api\"\npattern = \"poisson\"\nrate = 10",
    );
    let templated = scenario(
        "duration = 60\nseed = 3",
        "[[traffic]]\nfunction = \"api\"\npattern = \"poisson\"\nrate = 10\n\
         payload_template = { n = { distribution = \"normal\", mean = 0, stddev = 1 } }",
    );
    let t = |s| all(s).iter().map(|a| a.time_ns).collect::<Vec<_>>();
    assert_eq!(t(&fixed), t(&templated));
}

#[test]
fn templates_render_json_in_written_order() {
    let s = scenario("duration = 60", TRAFFIC);
    let api: Vec<Arrival> = all(&s)
        .into_iter()
        .filter(|a| a.target == Target::Function(0) && a.time_ns < 20_000_000_000)
        .collect();
    assert!(api.len() > 100);
    let mut distinct = std::collections::HashSet::new();
    let mut wait_sum = 0.0;
    for a in &api {
        let text = std::str::from_utf8(&a.payload).unwrap();
        assert!(text.starts_with("{\"name\":\"x\",\"wait_ms\":"), "{text}");
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let wait = &v["wait_ms"];
        assert!(wait.is_i64() && wait.as_i64().unwrap() >= 0, "{text}");
        wait_sum += wait.as_f64().unwrap();
        let f = v["f"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&f));
        distinct.insert(text.to_string());
    }
    assert!(distinct.len() > api.len() / 2, "samples vary per request");
    let mean = wait_sum / api.len() as f64;
    assert!((1000.0..3000.0).contains(&mean), "mean wait {mean}");
}

#[test]
fn fixed_payloads_are_shared() {
    let s = scenario("duration = 60", TRAFFIC);
    let worker: Vec<Arrival> = all(&s)
        .into_iter()
        .filter(|a| a.target == Target::Function(1))
        .collect();
    assert!(worker.len() > 10);
    assert!(
        worker
            .iter()
            .all(|a| &a.payload[..] == br#"{"fixed":true}"#)
    );
    assert!(
        worker
            .windows(2)
            .all(|w| w[0].payload.as_ptr() == w[1].payload.as_ptr())
    );
}
