//! Property tests, seeded and bounded for CI: the scenario loader on arbitrary and mutated TOML (never a panic, every
//! error positioned at file:line:column), and the host ABI under arbitrary pointers, lengths and call sequences from a
//! guest (never a host crash; a misused import is `Runtime.ExitError` naming the import, and the sandbox is reset).
//!
//! CI runs `PROPTEST_CASES` cases per property (256 by default here). A longer local run:
//! `PROPTEST_CASES=20000 cargo test --release --test fuzz`; a failure prints the seed and the shrunk input, and
//! proptest keeps failing seeds in `tests/fuzz.proptest-regressions` to replay first.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use lambda_sim::sandbox::{ClockMode, FunctionCode, Outcome, Sandbox};
use proptest::prelude::*;

fn config_cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Shrinking a failure is worth little time in CI: the seed and input are printed anyway.
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

/// Every example scenario: the material mutations start from.
fn example_scenarios() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![root().join("scenarios")];
    while let Some(dir) = dirs.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    out.sort();
    out
}

/// A scenario error must say where: `<file>:<line>:<column>: …`.
fn assert_positioned(path: &Path, error: &str) {
    let prefix = format!("{}:", path.display());
    let rest = error
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("error without the file: {error}"));
    let mut parts = rest.splitn(3, ':');
    let line = parts.next().and_then(|l| l.parse::<u32>().ok());
    let column = parts.next().and_then(|c| c.parse::<u32>().ok());
    assert!(
        line.is_some_and(|l| l > 0) && column.is_some_and(|c| c > 0),
        "error without line and column: {error}"
    );
}

fn check_parse(path: &Path, text: &str) {
    if let Err(e) = lambda_sim::scenario::parse_file(text, path) {
        assert_positioned(path, &e.to_string());
    }
}

/// Values that break naive code: extremes, signs, floats where integers go, odd strings.
fn nasty_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("1e308".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-0.0".to_string()),
        Just("\"\"".to_string()),
        Just("\"0s\"".to_string()),
        Just("\"99999999999d\"".to_string()),
        Just("\"-5ms\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("true".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|x| format!("{x:?}")),
        "\"[a-z0-9./]{0,12}\"",
    ]
}

/// One edit to a scenario's text.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the value of the `n`th `key = value` line.
    Value(usize, String),
    /// Delete the `n`th line.
    DeleteLine(usize),
    /// Duplicate the `n`th line.
    DuplicateLine(usize),
    /// Cut the text at a fraction of its length.
    Truncate(f64),
    /// Insert raw text at a fraction of its length.
    Insert(f64, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), nasty_value()).prop_map(|(n, v)| Mutation::Value(n, v)),
        1 => any::<usize>().prop_map(Mutation::DeleteLine),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (0.0..1.0f64).prop_map(Mutation::Truncate),
        1 => (0.0..1.0f64, "[\\[\\]=\"{}a-z0-9\n ,.]{1,20}").prop_map(|(at, s)| Mutation::Insert(at, s)),
    ]
}

fn char_boundary(text: &str, fraction: f64) -> usize {
    let mut at = (text.len() as f64 * fraction) as usize;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    match m {
        Mutation::Value(n, value) => {
            let keyed: Vec<usize> = (0..lines.len())
                .filter(|&i| !lines[i].trim_start().starts_with('#') && lines[i].contains(" = "))
                .collect();
            if let Some(&i) = keyed.get(n % keyed.len().max(1)) {
                let key = lines[i].split(" = ").next().unwrap_or("").to_string();
                lines[i] = format!("{key} = {value}");
            }
            lines.join("\n")
        }
        Mutation::DeleteLine(n) if !lines.is_empty() => {
            lines.remove(n % lines.len());
            lines.join("\n")
        }
        Mutation::DuplicateLine(n) if !lines.is_empty() => {
            let i = n % lines.len();
            lines.insert(i, lines[i].clone());
            lines.join("\n")
        }
        Mutation::Truncate(f) => text[..char_boundary(text, *f)].to_string(),
        Mutation::Insert(f, s) => {
            let at = char_boundary(text, *f);
            format!("{}{s}{}", &text[..at], &text[at..])
        }
        _ => text.to_string(),
    }
}

proptest! {
    #![proptest_config(config_cases(256))]

    #[test]
    fn arbitrary_text_never_panics_the_loader_and_every_error_is_positioned(text in "\\PC{0,400}") {
        check_parse(&root().join("scenarios/fuzzed.toml"), &text);
    }

    #[test]
    fn mutated_example_scenarios_never_panic_the_loader_and_every_error_is_positioned(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let examples = example_scenarios();
        let (path, text) = &examples[pick % examples.len()];
        let mut text = text.clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        check_parse(path, &text);
    }
}

/// One call a fuzzed guest makes.
#[derive(Debug, Clone)]
enum GuestCall {
    /// A `lambda` import with these arguments (i32s; `wait_us` takes an i64).
    Import(&'static str, Vec<i64>),
    MemoryGrow(i32),
    ProcExit(i32),
}

/// Every `lambda` import and its parameter count (`docs/abi.md`).
const IMPORTS: &[(&str, usize, &str)] = &[
    ("event_len", 0, "(result i32)"),
    ("event_read", 2, "(param i32 i32) (result i32)"),
    ("response_write", 2, "(param i32 i32) (result i32)"),
    ("error", 4, "(param i32 i32 i32 i32)"),
    ("request_id", 2, "(param i32 i32) (result i32)"),
    ("remaining_time_ms", 0, "(result i64)"),
    ("wait_us", 1, "(param i64) (result i32)"),
];

/// Pointers and lengths that probe the edges of a 2-page memory.
fn pointer() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(-1),
        Just(i32::MAX as i64),
        Just(i32::MIN as i64),
        Just(65_536),
        Just(131_072),
        Just(131_071),
        Just(131_056),
        0..140_000i64,
        any::<i32>().prop_map(i64::from),
    ]
}

fn guest_call() -> impl Strategy<Value = GuestCall> {
    prop_oneof![
        8 => (0..IMPORTS.len(), proptest::collection::vec(pointer(), 4)).prop_map(|(i, args)| {
            let (name, n, _) = IMPORTS[i];
            let args = if name == "wait_us" {
                // Waits from negative to past the timeout.
                vec![args[0].rem_euclid(3_000_000) - 1_000]
            } else {
                args[..n].to_vec()
            };
            GuestCall::Import(name, args)
        }),
        1 => prop_oneof![Just(1i32), Just(100), Just(3000), Just(-1), any::<i32>()].prop_map(GuestCall::MemoryGrow),
        1 => (0..4i32).prop_map(GuestCall::ProcExit),
    ]
}

/// A module whose `handle` makes `calls` in order, then returns `status`.
fn guest(calls: &[GuestCall], status: i32) -> String {
    let mut imports = String::new();
    for (name, _, sig) in IMPORTS {
        imports.push_str(&format!(
            "(import \"lambda\" \"{name}\" (func ${name} {sig}))\n"
        ));
    }
    imports.push_str(
        "(import \"wasi_snapshot_preview1\" \"proc_exit\" (func $proc_exit (param i32)))\n",
    );
    let mut body = String::new();
    for call in calls {
        match call {
            GuestCall::Import(name, args) => {
                let (_, _, sig) = IMPORTS.iter().find(|(n, _, _)| n == name).unwrap();
                for a in args {
                    if *name == "wait_us" {
                        body.push_str(&format!("(i64.const {a})"));
                    } else {
                        body.push_str(&format!("(i32.const {})", *a as i32));
                    }
                }
                body.push_str(&format!("(call ${name})"));
                if sig.contains("result") {
                    body.push_str("(drop)");
                }
            }
            GuestCall::MemoryGrow(pages) => {
                body.push_str(&format!("(drop (memory.grow (i32.const {pages})))"))
            }
            GuestCall::ProcExit(code) => {
                body.push_str(&format!("(call $proc_exit (i32.const {code}))"))
            }
        }
        body.push('\n');
    }
    format!(
        "(module (@custom \"lambda-sim-abi\" \"1\")\n{imports}(memory (export \"memory\") 2)\n\
         (func (export \"handle\") (result i32)\n{body}(i32.const {status})))"
    )
}

proptest! {
    #![proptest_config(config_cases(256))]

    #[test]
    fn arbitrary_guest_calls_never_crash_the_host_and_misuse_resets_the_sandbox(
        calls in proptest::collection::vec(guest_call(), 0..8),
        status in prop_oneof![Just(0i32), Just(1), any::<i32>()],
    ) {
        let engine = engine();
        let cache = lambda_sim::sandbox::CodeCache::in_memory();
        let code = FunctionCode::from_bytes(&engine, &cache, "fuzzed.wat", guest(&calls, status).as_bytes())
            .expect("the generated module is valid");
        let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
        let report = now(sandbox.invoke(&event(r#"{"fuzz":true}"#), limits(1)))
            .expect("a guest's call always ends in a report, never a host error");
        let error = report.error.as_ref().map(|e| (e.error_type.clone(), e.error_message.clone()));
        match report.outcome {
            Outcome::Success => prop_assert_eq!(error, None),
            Outcome::FunctionError => prop_assert_ne!(error, None),
            Outcome::Timeout => prop_assert_eq!(error.unwrap().0, "Sandbox.Timedout"),
            Outcome::OutOfMemory => prop_assert_eq!(error.unwrap().0, "Runtime.OutOfMemory"),
            Outcome::Crash => {
                let (error_type, message) = error.unwrap();
                prop_assert_eq!(error_type, "Runtime.ExitError");
                prop_assert!(message.starts_with("RequestId: "), "{}", message);
                // A misused import is named, with the bad value.
                if message.contains("lambda.") {
                    prop_assert!(message.contains("lambda.") && (message.contains("pointer") || message.contains("wait")), "{}", message);
                }
            }
        }
        prop_assert_eq!(sandbox.is_destroyed(), report.outcome.destroys_sandbox());
        if sandbox.is_destroyed() {
            // Reset: the destroyed sandbox is never reused; a fresh one runs.
            let reused = now(sandbox.invoke(&event("{}"), limits(1)));
            prop_assert!(reused.is_err());
            let calm = FunctionCode::from_bytes(&engine, &cache, "calm.wat", guest(&[], 0).as_bytes()).unwrap();
            let mut fresh = Sandbox::new(&calm, &config(128, ClockMode::Virtual)).unwrap();
            prop_assert_eq!(now(fresh.invoke(&event("{}"), limits(1))).unwrap().outcome, Outcome::Success);
        }
    }
}
