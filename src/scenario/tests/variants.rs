//! `[[variant]]` blocks: overrides applied through the normal checks, errors at the override's position.

use std::path::Path;

use super::{HEADER, PATH, pos};
use crate::scenario::{KeepAlivePolicy, ScenarioError, ScenarioFile, parse_file};

const MIN: u64 = 60_000_000_000;

const BASE: &str = r#"
[simulation]
duration = "10m"

[account]
concurrency_limit = 500

[[function]]
name = "api"
code = "functions/hello"
memory_mb = 256
keep_alive = { policy = "fixed", duration = "10m" }

[[function]]
name = "worker"
code = "functions/hello"

[[traffic]]
function = "api"
pattern = "poisson"
rate = 5.0
"#;

fn file(extra: &str) -> ScenarioFile {
    let text = format!("{BASE}{extra}");
    match parse_file(&text, Path::new(PATH)) {
        Ok(f) => f,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn error(extra: &str) -> (ScenarioError, String) {
    let text = format!("{BASE}{extra}");
    match parse_file(&text, Path::new(PATH)) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => (e, text),
    }
}

#[test]
fn a_file_without_variants_has_none() {
    let f = file("");
    assert!(f.variants.is_empty());
    assert_eq!(f.base.functions[0].memory_mb, 256);
}

#[test]
fn variants_override_function_account_and_traffic_settings() {
    let f = file(
        r#"
[[variant]]
name = "as-written"

[[variant]]
name = "big"
description = "more memory, a shorter keep-alive, twice the rate"
function.api.memory_mb = 1769
function.api.keep_alive.duration = "5m"
account.concurrency_limit = 100
traffic.0.rate = 10.0
"#,
    );
    assert_eq!(f.variants.len(), 2);
    let (a, b) = (&f.variants[0], &f.variants[1]);
    assert_eq!(a.name, "as-written");
    assert!(a.overrides.is_empty());
    assert_eq!(a.scenario.functions[0].memory_mb, 256);
    assert_eq!(b.name, "big");
    assert_eq!(
        b.description.as_deref(),
        Some("more memory, a shorter keep-alive, twice the rate")
    );
    let api = &b.scenario.functions[0];
    assert_eq!(api.memory_mb, 1769);
    // Merged key by key: the policy stays "fixed".
    assert_eq!(api.keep_alive, KeepAlivePolicy::Fixed { idle_ns: 5 * MIN });
    assert_eq!(b.scenario.account.concurrency_limit, 100);
    assert_eq!(
        b.scenario.traffic[0].pattern,
        crate::scenario::Pattern::Poisson { rate: 10.0 }
    );
    // The other function and the base are untouched.
    assert_eq!(b.scenario.functions[1].memory_mb, 128);
    assert_eq!(f.base.functions[0].memory_mb, 256);
    assert_eq!(
        b.overrides,
        vec![
            "account.concurrency_limit = 100",
            "function.api.keep_alive.duration = \"5m\"",
            "function.api.memory_mb = 1769",
            "traffic.0.rate = 10.0",
        ]
    );
}

#[test]
fn a_table_naming_its_policy_replaces_the_whole_table() {
    let f = file(
        r#"
[[variant]]
name = "no-keep-alive"
function.api.keep_alive = { policy = "none" }
"#,
    );
    assert_eq!(
        f.variants[0].scenario.functions[0].keep_alive,
        KeepAlivePolicy::None
    );
}

#[test]
fn a_traffic_override_with_a_pattern_replaces_the_phase() {
    let f = file(
        r#"
[[variant]]
name = "spike"
traffic.0 = { pattern = "spike", count = 50 }
"#,
    );
    let phase = &f.variants[0].scenario.traffic[0];
    assert_eq!(phase.function(), Some(0));
    assert_eq!(
        phase.pattern,
        crate::scenario::Pattern::Spike {
            count: 50,
            window_ns: 0
        }
    );
}

#[test]
fn a_bad_override_value_is_reported_where_it_was_written() {
    let (e, text) = error(
        r#"
[[variant]]
name = "huge"
function.api.memory_mb = 20000
"#,
    );
    assert_eq!(
        e.message,
        "variant \"huge\": function \"api\": memory_mb = 20000 is outside Lambda's range 128–10240 MB"
    );
    assert_eq!((e.line, e.column), pos(&text, "20000"));
}

#[test]
fn variant_mistakes_name_the_variant_and_the_key() {
    let cases: [(&str, &str, &str); 7] = [
        (
            "[[variant]]\ndescription = \"x\"\n",
            "[[variant]]",
            "variant: name is required",
        ),
        (
            "[[variant]]\nname = \"a\"\n[[variant]]\nname = \"a\"\n",
            "\"a\"\n[[variant]]\nname = \"a\"",
            "",
        ),
        (
            "[[variant]]\nname = \"a\"\nfunction.nope.memory_mb = 512\n",
            "nope",
            "variant \"a\": function \"nope\" is not declared (declared: api, worker)",
        ),
        (
            "[[variant]]\nname = \"a\"\ntraffic.3.rate = 1.0\n",
            "3.rate",
            "variant \"a\": traffic.3 must name a [[traffic]] block by its 0-based index, 0–0",
        ),
        (
            "[[variant]]\nname = \"a\"\nsimulation.seed = 2\n",
            "simulation.seed",
            "variant \"a\": [simulation] cannot vary between variants: every variant replays the same arrivals from the same seed (run the file twice to compare seeds or durations)",
        ),
        (
            "[[variant]]\nname = \"a\"\nfunctions.api.memory_mb = 512\n",
            "functions.api",
            "variant \"a\": unknown key `functions`; a variant may set name, description, account.<key>, not_lambda.<key>, function.<name>.<key>, traffic.<index>.<key>, queue.<name>.<key>, event_source.<index>.<key>, service.<name>.<key> and trace.<key>",
        ),
        (
            "[[variant]]\nname = \"a\"\nfunction.api.name = \"b\"\n",
            "\"b\"",
            "variant \"a\": function.api.name cannot be overridden (it is how the variant finds the function)",
        ),
    ];
    for (extra, needle, message) in cases {
        let (e, text) = error(extra);
        if message.is_empty() {
            assert_eq!(e.message, "variant \"a\" is declared twice", "{e}");
            let second = text
                .rfind("\"a\"")
                .map(|i| super::super::error::line_col(&text, i));
            assert_eq!(Some((e.line, e.column)), second, "{e}");
            continue;
        }
        assert_eq!(e.message, message, "{e}");
        let at = text
            .rfind(needle)
            .map(|i| super::super::error::line_col(&text, i));
        assert_eq!(Some((e.line, e.column)), at, "position in {e}");
    }
}

#[test]
fn an_unknown_function_field_in_a_variant_is_a_toml_error_at_its_key() {
    let text = format!("{HEADER}\n[[variant]]\nname = \"a\"\nfunction.api.memroy_mb = 512\n");
    let e = match parse_file(&text, Path::new(PATH)) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    };
    assert!(e.message.contains("memroy_mb"), "{e}");
    assert!(e.message.starts_with("variant \"a\": "), "{e}");
    assert_eq!(e.line, pos(&text, "function.api.memroy_mb").0, "{e}");
}
