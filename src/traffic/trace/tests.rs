//! Tests of trace replay on the committed fixture (`tests/fixtures/azure/`, the public schema): per-minute counts
//! are preserved, window / speedup / filters / top / sample select what they say, runs are deterministic, 2021
//! rows come out in start order from files ordered by end or by start, and a disordered file is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::scenario::{Scenario, ScenarioError, parse};
use crate::traces::azure::{FunctionCounts, InvocationCountsReader, InvocationTraceReader, open};
use crate::traces::draw_duration_ms;
use crate::traffic::TrafficGenerator;

const S: u64 = 1_000_000_000;

fn fixture(name: &str) -> PathBuf {
    [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "azure",
        name,
    ]
    .iter()
    .collect()
}

fn inv_2019() -> PathBuf {
    fixture("invocations_per_function_md.anon.d01.csv")
}

fn try_scenario(trace: &str, seed: u64) -> Result<Scenario, ScenarioError> {
    let text = format!("[simulation]\nseed = {seed}\n\n[trace]\n{trace}\n");
    parse(&text, Path::new("/nonexistent/t.toml"))
}

fn scenario_2019(extra: &str, seed: u64) -> Scenario {
    let trace = format!(
        "format = \"azure-2019\"\ninvocations = {:?}\ndurations = {:?}\n{extra}",
        inv_2019(),
        fixture("function_durations_percentiles.anon.d01.csv")
    );
    try_scenario(&trace, seed).unwrap_or_else(|e| panic!("{e}"))
}

/// (time, function, payload) of every arrival.
fn arrivals(s: &Scenario) -> Vec<(u64, usize, String)> {
    let mut g = TrafficGenerator::new(s).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    while let Some(a) = g.pop() {
        let f = a
            .target
            .function()
            .expect("trace arrivals invoke functions");
        out.push((
            a.time_ns,
            f,
            String::from_utf8_lossy(&a.payload).into_owned(),
        ));
    }
    assert!(g.replay_error().is_none());
    out
}

fn rows_2019() -> Vec<FunctionCounts> {
    let r = InvocationCountsReader::new(open(&inv_2019()).unwrap(), "f").unwrap();
    r.map(|x| x.unwrap()).collect()
}

/// Arrivals per (scenario function, minute of simulated time).
fn per_minute(a: &[(u64, usize, String)], minute_ns: u64) -> BTreeMap<(usize, u64), u32> {
    let mut m = BTreeMap::new();
    for (t, f, _) in a {
        *m.entry((*f, t / minute_ns)).or_insert(0) += 1;
    }
    m
}

#[test]
fn a_day_keeps_every_functions_per_minute_counts_in_time_order() {
    let rows = rows_2019();
    for spread in ["uniform", "poisson", "equally-spaced"] {
        let s = scenario_2019(&format!("spread = {spread:?}"), 1);
        assert_eq!(
            s.simulation.duration_ns,
            86_400 * S,
            "default duration: the day"
        );
        assert_eq!(
            s.functions.len(),
            rows.len(),
            "every function of the fixture is invoked"
        );
        let a = arrivals(&s);
        assert!(
            a.windows(2).all(|w| w[0].0 <= w[1].0),
            "{spread}: time order"
        );
        let got = per_minute(&a, 60 * S);
        let mut want = BTreeMap::new();
        for (i, r) in rows.iter().enumerate() {
            for (m, &c) in r.counts.iter().enumerate() {
                if c > 0 {
                    want.insert((i, m as u64), c);
                }
            }
        }
        assert_eq!(got, want, "{spread}: per-minute counts");
        assert_eq!(a.len() as u64, s.trace.as_ref().unwrap().invocations);
    }
}

#[test]
fn window_speedup_trigger_filter_and_top_select_what_they_say() {
    let rows = rows_2019();
    let s = scenario_2019(
        "start = \"8h\"\nend = \"10h\"\nspeedup = 2\ntriggers = [\"http\", \"timer\"]\ntop = 5",
        1,
    );
    assert_eq!(
        s.simulation.duration_ns,
        3600 * S,
        "2 h of trace at speedup 2"
    );
    // The 5 http/timer functions with the most invocations in minutes 480..600 (ties: the earlier row).
    let mut want: Vec<(u64, usize)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.trigger.as_str(), "http" | "timer"))
        .map(|(i, r)| {
            (
                r.counts[480..600]
                    .iter()
                    .map(|&c| u64::from(c))
                    .sum::<u64>(),
                i,
            )
        })
        .filter(|&(n, _)| n > 0)
        .collect();
    want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    want.truncate(5);
    want.sort_by_key(|&(_, i)| i);
    let trace = s.trace.as_ref().unwrap();
    let chosen: Vec<(u64, usize)> = trace
        .functions
        .iter()
        .map(|f| (f.invocations, f.row as usize))
        .collect();
    assert_eq!(chosen, want);
    let a = arrivals(&s);
    assert_eq!(a.len() as u64, want.iter().map(|w| w.0).sum::<u64>());
    // Speedup 2: a trace minute is 30 simulated seconds.
    let got = per_minute(&a, 30 * S);
    for (k, f) in trace.functions.iter().enumerate() {
        for m in 0..120 {
            let c = rows[f.row as usize].counts[480 + m];
            assert_eq!(
                got.get(&(f.function, m as u64)).copied().unwrap_or(0),
                c,
                "function {k} minute {m}"
            );
        }
    }
}

#[test]
fn app_filter_takes_hash_prefixes_and_sample_is_seeded() {
    let rows = rows_2019();
    let app = &rows[0].app;
    let s = scenario_2019(&format!("apps = [{:?}]", &app[..8]), 1);
    let t = s.trace.as_ref().unwrap();
    assert!(!t.functions.is_empty());
    assert!(t.functions.iter().all(|f| &f.app == app));
    assert_eq!(
        t.functions.len(),
        rows.iter().filter(|r| &r.app == app).count()
    );

    let names = |seed| -> Vec<String> {
        scenario_2019("sample = 10", seed)
            .functions
            .iter()
            .map(|f| f.name.clone())
            .collect()
    };
    assert_eq!(names(3).len(), 10);
    assert_eq!(names(3), names(3));
    assert_ne!(names(3), names(4), "another seed picks another sample");
    let a = arrivals(&scenario_2019("sample = 10", 3));
    assert_eq!(
        a,
        arrivals(&scenario_2019("sample = 10", 3)),
        "same seed, same arrivals and durations"
    );
}

#[test]
fn durations_follow_the_percentiles_and_missing_functions_use_the_default() {
    let p = [10.0, 20.0, 100.0, 200.0, 300.0, 1000.0, 5000.0];
    for (u, want) in [
        (0.0, 10.0),
        (0.01, 20.0),
        (0.25, 100.0),
        (0.5, 200.0),
        (0.625, 250.0),
        (0.99, 1000.0),
        (1.0, 5000.0),
    ] {
        assert!((draw_duration_ms(&p, u) - want).abs() < 1e-9, "u = {u}");
    }
    // Without a durations file every function uses default_duration.
    let trace = format!(
        "format = \"azure-2019\"\ninvocations = {:?}\ndefault_duration = \"250ms\"\ntop = 2",
        inv_2019()
    );
    let s = try_scenario(&trace, 1).unwrap();
    let a = arrivals(&s);
    assert!(!a.is_empty() && a.iter().all(|(_, _, p)| p == "{\"wait_ms\":250.000}"));
    // With it, each function's waits lie within its percentiles 0 and 100.
    let s = scenario_2019("top = 3", 1);
    let t = s.trace.as_ref().unwrap();
    for (_, f, p) in arrivals(&s) {
        let ms: f64 = p
            .trim_start_matches("{\"wait_ms\":")
            .trim_end_matches('}')
            .parse()
            .unwrap();
        let pct = t
            .functions
            .iter()
            .find(|x| x.function == f)
            .unwrap()
            .durations_ms
            .unwrap();
        assert!(
            ms >= pct[0] - 1e-3 && ms <= pct[6] + 1e-3,
            "{ms} outside {pct:?}"
        );
    }
}

/// The 2021 fixture's rows as (start ns, app, func, duration ns).
fn rows_2021(path: &Path) -> Vec<(u64, String, String, u64)> {
    let r = InvocationTraceReader::new(open(path).unwrap(), "f").unwrap();
    r.map(|x| x.unwrap())
        .map(|i| (i.start_ns, i.app, i.func, i.duration_ns))
        .collect()
}

fn scenario_2021(path: &Path, extra: &str) -> Result<Scenario, ScenarioError> {
    try_scenario(
        &format!("format = \"azure-2021\"\nfile = {path:?}\n{extra}"),
        1,
    )
}

#[test]
fn azure_2021_replays_every_row_at_its_start_whatever_the_file_order() {
    let path = fixture("AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt");
    let mut rows = rows_2021(&path);
    let s = scenario_2021(&path, "").unwrap();
    let a = arrivals(&s);
    assert_eq!(a.len(), rows.len());
    assert!(a.windows(2).all(|w| w[0].0 <= w[1].0), "start order");
    let name = |f: usize| s.functions[f].name.clone();
    let mut got: Vec<(u64, String, String)> = a
        .iter()
        .map(|(t, f, p)| (*t, name(*f), p.clone()))
        .collect();
    rows.sort_by_key(|r| r.0);
    let t = s.trace.as_ref().unwrap();
    let fname = |app: &str, func: &str| {
        let f = t
            .functions
            .iter()
            .find(|f| f.app == app && f.hash == func)
            .unwrap();
        s.functions[f.function].name.clone()
    };
    let mut want: Vec<(u64, String, String)> = rows
        .iter()
        .map(|(st, app, func, d)| {
            (
                *st,
                fname(app, func),
                format!("{{\"wait_ms\":{:.3}}}", *d as f64 / 1e6),
            )
        })
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // The same rows ordered by end time (as the published file is) replay identically.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().skip(1).collect();
    let end = |l: &str| l.split(',').nth(2).unwrap().parse::<f64>().unwrap();
    lines.sort_by(|a, b| end(a).total_cmp(&end(b)));
    let dir = std::env::temp_dir().join(format!("lsim-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let by_end = dir.join("by-end.txt");
    std::fs::write(
        &by_end,
        format!("app,func,end_timestamp,duration\n{}\n", lines.join("\n")),
    )
    .unwrap();
    let s2 = scenario_2021(&by_end, "").unwrap();
    let names2: Vec<String> = arrivals(&s2)
        .iter()
        .map(|(t, f, _)| format!("{t}{}", s2.functions[*f].name))
        .collect();
    let names1: Vec<String> = a
        .iter()
        .map(|(t, f, _)| format!("{t}{}", s.functions[*f].name))
        .collect();
    assert_eq!(names1, names2);

    // A row that starts 20 minutes before one above it cannot be placed: the file is refused at that row.
    let mut bad = lines.clone();
    let late = "aa,bb,100.0,0.5".to_string();
    bad.push(&late);
    let last = end(lines.last().unwrap());
    assert!(last > 1300.0, "the fixture spans more than 20 minutes");
    std::fs::write(
        &by_end,
        format!("app,func,end_timestamp,duration\n{}\n", bad.join("\n")),
    )
    .unwrap();
    let e = scenario_2021(&by_end, "").unwrap_err();
    assert_eq!((e.line, e.column), (bad.len() + 1, 3), "{e}");
    assert!(e.message.contains("ordered by end time"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn azure_2021_window_and_top() {
    let path = fixture("AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt");
    let rows = rows_2021(&path);
    let s = scenario_2021(&path, "start = \"10m\"\nend = \"40m\"\ntop = 3").unwrap();
    assert_eq!(s.simulation.duration_ns, 1800 * S);
    let t = s.trace.as_ref().unwrap();
    assert_eq!(t.functions.len(), 3);
    let in_window = |r: &&(u64, String, String, u64)| r.0 >= 600 * S && r.0 < 2400 * S;
    let mut per: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for r in rows.iter().filter(in_window) {
        *per.entry((&r.1, &r.2)).or_insert(0) += 1;
    }
    let mut counts: Vec<u64> = per.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let mut chosen: Vec<u64> = t.functions.iter().map(|f| f.invocations).collect();
    chosen.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(chosen, counts[..3]);
    let a = arrivals(&s);
    assert_eq!(a.len() as u64, chosen.iter().sum::<u64>());
    assert!(a.iter().all(|(t, _, _)| *t < 1800 * S));
}
