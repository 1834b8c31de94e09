//! Writing what the analysis found: `profile.json` (per function: invocations, cold starts, distributions,
//! concurrency) and `scenario.toml` (the arrivals replayed against the stand-in handler following the profile, with
//! variants for the usual mitigations).

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::profile::{Analysis, FunctionStats};
use super::read::FileCounts;
use crate::import::draft::{self, Draft, Section};

/// Points of a compressed empirical distribution: quantile midpoints, equal values merged.
const POINTS: usize = 200;

/// A histogram of µs as an empirical distribution in ms: `POINTS` quantile midpoints, equal values merged (their
/// weights added). Keeps every percentile to within 1/`POINTS` and the histogram's 0.1 %.
pub fn empirical_ms(h: &Histogram<u64>) -> (Vec<f64>, Vec<f64>) {
    let mut values: Vec<f64> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    for i in 0..POINTS {
        let q = (i as f64 + 0.5) / POINTS as f64;
        let ms = (h.value_at_quantile(q) as f64 / 1000.0 * 1000.0).round() / 1000.0;
        match values.last() {
            Some(&last) if last == ms => {
                if let Some(w) = weights.last_mut() {
                    *w += 1.0;
                }
            }
            _ => {
                values.push(ms);
                weights.push(1.0);
            }
        }
    }
    (values, weights)
}

/// `{ distribution = "empirical", values = [...], weights = [...] }`.
fn empirical_toml(h: &Histogram<u64>) -> String {
    let (values, weights) = empirical_ms(h);
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| draft::number(*x))
            .collect::<Vec<_>>()
            .join(", ")
    };
    draft::inline(&[
        ("distribution", draft::string("empirical")),
        ("values", format!("[{}]", list(&values))),
        ("weights", format!("[{}]", list(&weights))),
    ])
}

fn summary_ms(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return Value::Null;
    }
    let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
    let (values, weights) = empirical_ms(h);
    json!({
        "count": h.len(),
        "mean": (h.mean() / 1000.0 * 1000.0).round() / 1000.0,
        "p50": ms(h.value_at_quantile(0.5)),
        "p90": ms(h.value_at_quantile(0.9)),
        "p99": ms(h.value_at_quantile(0.99)),
        "max": ms(h.max()),
        "empirical": { "values": values, "weights": weights },
    })
}

fn summary_mb(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return Value::Null;
    }
    json!({
        "count": h.len(),
        "p50": h.value_at_quantile(0.5),
        "p99": h.value_at_quantile(0.99),
        "max": h.max(),
    })
}

/// `profile.json`.
pub fn profile(a: &Analysis, files: &[(String, FileCounts)]) -> Value {
    let mut functions = serde_json::Map::new();
    for f in a.functions.values() {
        let t0 = a.t0.unwrap_or(0);
        let secs = |ns: u64| ns.saturating_sub(t0) as f64 / 1e9;
        functions.insert(
            f.name.to_string(),
            json!({
                "invocations": f.arrivals,
                "reports": f.reports,
                "cold_starts": f.cold_starts,
                "cold_start_fraction": if f.reports > 0 { f.cold_starts as f64 / f.reports as f64 } else { 0.0 },
                "restores": f.restores,
                "timeouts": f.timeouts,
                "errors": f.errors,
                "missing_reports": f.missing_reports,
                "memory_size_mb": f.memory_size_mb(),
                "memory_sizes_seen": f.memory_sizes.iter().map(|(mb, n)| json!({"mb": mb, "reports": n})).collect::<Vec<_>>(),
                "peak_concurrency": f.peak_concurrency,
                "first_arrival_s": f.first_ns.map(secs),
                "last_arrival_s": f.first_ns.map(|_| secs(f.last_ns)),
                "duration_ms": summary_ms(&f.duration_us),
                "init_duration_ms": summary_ms(&f.init_us),
                "restore_duration_ms": summary_ms(&f.restore_us),
                "max_memory_used_mb": summary_mb(&f.max_memory_mb),
                "arrivals_file": format!("arrivals/{}.csv", super::function_name(&f.name)),
                "timeline_file": format!("timeline/{}.csv", super::function_name(&f.name)),
            }),
        );
    }
    json!({
        "files": files.iter().map(|(path, c)| json!({"path": path, "counts": c})).collect::<Vec<_>>(),
        "counts": a.counts,
        "first_arrival_epoch_ms": a.t0.map(|t| t / 1_000_000),
        "functions": functions,
    })
}

/// The timeout to write: what the timed-out invocations ran for, or (none timed out) just above the longest
/// Duration seen and at least Lambda's default 3 s; with why.
fn timeout_s(f: &FunctionStats) -> (u64, String) {
    if !f.timeout_us.is_empty() {
        let s = (f.timeout_us.value_at_quantile(0.5) as f64 / 1e6)
            .round()
            .clamp(1.0, 900.0) as u64;
        return (
            s,
            format!(
                "the Duration of the {} REPORT(s) with Status: timeout",
                f.timeout_us.len()
            ),
        );
    }
    let longest = (f.duration_us.max() as f64 / 1e6).ceil() as u64 + 1;
    (
        longest.clamp(3, 900),
        "not in the logs: above the longest Duration seen (at least Lambda's default 3 s)".into(),
    )
}

/// `scenario.toml`.
pub fn scenario(a: &Analysis, name: &str, command: &str, stand_in: &str) -> String {
    let t0 = a.t0.unwrap_or(0);
    let last = a.functions.values().map(|f| f.last_ns).max().unwrap_or(t0);
    let span_s = (last.saturating_sub(t0) / 1_000_000_000) + 1;
    let mut d = Draft {
        preamble: vec![
            format!("Imported by `{command}`."),
            "Each function's requests arrive when its logs' START lines say (a cold start's: its INIT_START); the".into(),
            "stand-in handler runs each as long as a Duration drawn from the logs, and every cold start's runtime".into(),
            "start-up is drawn from the logs' Init Durations. profile.json has the logs' own figures to compare with."
                .into(),
        ],
        sections: Vec::new(),
    };
    let mut sim = Section::new("[simulation]");
    sim.set("name", draft::string(name), None);
    sim.set(
        "duration",
        draft::seconds(span_s as f64),
        Some("from the first arrival in the logs to just after the last".into()),
    );
    sim.set("seed", "1".into(), None);
    d.sections.push(sim);
    for f in a.functions.values().filter(|f| f.arrivals > 0) {
        let name = super::function_name(&f.name);
        let mut s = Section::new("[[function]]");
        s.note(format!(
            "{}: {} invocations, {} cold starts ({:.1} %), peak concurrency {}",
            f.name,
            f.arrivals,
            f.cold_starts,
            100.0 * f.cold_starts as f64 / f.reports.max(1) as f64,
            f.peak_concurrency
        ));
        s.set("name", draft::string(&name), None);
        s.set(
            "code",
            draft::string(stand_in),
            Some("the stand-in: it runs as long as each request's \"wait_ms\"".into()),
        );
        if let Some(mb) = f.memory_size_mb() {
            s.set(
                "memory_mb",
                draft::number(mb.clamp(128, 10_240) as f64),
                Some("Memory Size in the REPORT lines".into()),
            );
        }
        let (timeout, why) = timeout_s(f);
        s.set("timeout", draft::number(timeout as f64), Some(why));
        if f.restores > f.cold_starts / 2 && f.restores > 0 {
            s.set(
                "snapshot",
                "true".into(),
                Some("the logs' cold starts are restores (SnapStart); the restore time is lambda-sim's own".into()),
            );
        } else if !f.init_us.is_empty() {
            s.set(
                "cold_start",
                draft::inline(&[("runtime_startup_ms", empirical_toml(&f.init_us))]),
                Some("the Init Durations of the logs' cold starts".into()),
            );
        }
        d.sections.push(s);
        let mut t = Section::new("[[traffic]]");
        t.set("function", draft::string(&name), None);
        t.set("pattern", draft::string("replay"), None);
        t.set(
            "file",
            draft::string(&format!("arrivals/{}.csv", super::function_name(&f.name))),
            Some("relative to this file".into()),
        );
        t.set(
            "payload_template",
            draft::inline(&[("wait_ms", empirical_toml(&f.duration_us))]),
            Some("the Durations of the logs".into()),
        );
        d.sections.push(t);
    }
    let functions: Vec<&FunctionStats> = a.functions.values().filter(|f| f.arrivals > 0).collect();
    let variant =
        |name: &str, description: &str, set: &dyn Fn(&FunctionStats) -> Vec<(String, String)>| {
            let mut v = Section::new("[[variant]]");
            v.set("name", draft::string(name), None);
            v.set("description", draft::string(description), None);
            for f in &functions {
                for (key, value) in set(f) {
                    v.set(
                        &format!("function.{}.{key}", super::function_name(&f.name)),
                        value,
                        None,
                    );
                }
            }
            v
        };
    d.sections.push(variant(
        "as-logged",
        "the logs' traffic and figures, as they were",
        &|_| Vec::new(),
    ));
    d.sections.push(variant(
        "provisioned-peak",
        "provisioned concurrency at each function's observed peak, ready from the start",
        &|f| {
            vec![
                (
                    "provisioned_concurrency".into(),
                    draft::number(f.peak_concurrency.max(1) as f64),
                ),
                ("provisioned_allocation_delay".into(), draft::string("0s")),
            ]
        },
    ));
    d.sections.push(variant(
        "snapshot",
        "snapshot restore (SnapStart) in place of init on every cold start",
        &|_| vec![("snapshot".into(), "true".into())],
    ));
    for (label, factor) in [("memory-half", 0.5), ("memory-double", 2.0)] {
        d.sections.push(variant(
            label,
            "another memory size: the stand-in's wait does not speed up with memory, so this shows the cost only",
            &|f| {
                let mb = f.memory_size_mb().unwrap_or(128) as f64 * factor;
                vec![("memory_mb".into(), draft::number(mb.round().clamp(128.0, 10_240.0)))]
            },
        ));
    }
    d.render()
}
