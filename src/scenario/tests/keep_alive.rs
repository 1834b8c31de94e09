//! Keep-alive policies in scenario files: `hybrid` and `greedy-dual` with their settings, defaults and errors.

use std::path::Path;

use super::{PATH, assert_err, err, ok};
use crate::scenario::{KeepAlivePolicy, parse_file};

const MIN: u64 = 60_000_000_000;

/// A scenario with an optional `[account]` body and one function's keep-alive.
fn scenario(account: &str, keep_alive: &str) -> String {
    format!(
        "[simulation]\nduration = \"10m\"\n\n[account]\n{account}\n\n[[function]]\nname = \"api\"\n\
         code = \"functions/hello\"\nkeep_alive = {keep_alive}\n"
    )
}

#[test]
fn hybrid_defaults_to_a_10_minute_fallback_after_10_idle_times() {
    let s = ok(&scenario("", r#"{ policy = "hybrid" }"#));
    assert_eq!(
        s.functions[0].keep_alive,
        KeepAlivePolicy::Hybrid {
            fallback_ns: 10 * MIN,
            min_samples: 10
        }
    );
    assert_eq!(s.account.keep_alive_memory_mb, None);
}

#[test]
fn hybrid_settings_are_read() {
    let s = ok(&scenario(
        "",
        r#"{ policy = "hybrid", fallback = "5m", min_samples = 3 }"#,
    ));
    assert_eq!(
        s.functions[0].keep_alive,
        KeepAlivePolicy::Hybrid {
            fallback_ns: 5 * MIN,
            min_samples: 3
        }
    );
}

#[test]
fn greedy_dual_uses_the_account_budget() {
    let s = ok(&scenario(
        "keep_alive_memory_mb = 4096",
        r#"{ policy = "greedy-dual" }"#,
    ));
    assert_eq!(s.functions[0].keep_alive, KeepAlivePolicy::GreedyDual);
    assert_eq!(s.account.keep_alive_memory_mb, Some(4096));
}

#[test]
fn greedy_dual_without_a_budget_is_refused_at_the_policy() {
    assert_err(
        &scenario("", r#"{ policy = "greedy-dual" }"#),
        "\"greedy-dual\"",
        "function \"api\": keep_alive policy \"greedy-dual\" needs a memory budget: set keep_alive_memory_mb in \
         [account] (e.g. keep_alive_memory_mb = 4096)",
    );
}

#[test]
fn bad_keep_alive_values_name_field_value_and_range() {
    assert_err(
        &scenario(
            "keep_alive_memory_mb = 100",
            r#"{ policy = "greedy-dual" }"#,
        ),
        "100",
        "account: keep_alive_memory_mb = 100 is outside the allowed range 128–10240000000 MB",
    );
    assert_err(
        &scenario("", r#"{ policy = "hybrid", min_samples = 0 }"#),
        "0 }",
        "function \"api\": keep_alive.min_samples = 0 is outside the allowed range 1–1000000 idle times",
    );
    assert_err(
        &scenario("", r#"{ policy = "hybrid", fallback = "0s" }"#),
        "\"0s\"",
        "function \"api\": keep_alive.fallback = \"0s\" must be longer than 0",
    );
    assert_err(
        &scenario("", r#"{ policy = "hybrid", fallback = "soon" }"#),
        "\"soon\"",
        "function \"api\": keep_alive.fallback = \"soon\" is not a duration (expected number at 0); write e.g. \
         \"90s\", \"10m\", \"1h 30m\", \"250ms\" or a number of seconds",
    );
}

#[test]
fn settings_of_another_policy_are_refused() {
    assert_err(
        &scenario(
            "",
            r#"{ policy = "fixed", duration = "10m", fallback = "5m" }"#,
        ),
        "\"5m\"",
        "function \"api\": keep_alive.fallback applies only to policy \"hybrid\" (policy is \"fixed\")",
    );
    assert_err(
        &scenario(
            "keep_alive_memory_mb = 1024",
            r#"{ policy = "greedy-dual", min_samples = 5 }"#,
        ),
        "5 }",
        "function \"api\": keep_alive.min_samples applies only to policy \"hybrid\" (policy is \"greedy-dual\")",
    );
    assert_err(
        &scenario("", r#"{ policy = "hybrid", duration = "7m" }"#),
        "\"7m\"",
        "function \"api\": keep_alive.duration applies only to policy \"fixed\" (policy is \"hybrid\")",
    );
}

#[test]
fn an_unknown_policy_lists_the_known_ones() {
    let e = err(&scenario("", r#"{ policy = "lru" }"#));
    for name in ["lambda", "fixed", "none", "hybrid", "greedy-dual"] {
        assert!(e.message.contains(name), "{e}");
    }
    assert_eq!(e.line, 10);
}

#[test]
fn a_variant_can_switch_to_a_learning_policy() {
    let text = format!(
        "{}\n[[variant]]\nname = \"hybrid\"\nfunction.api.keep_alive = {{ policy = \"hybrid\", min_samples = 3 }}\n\n\
         [[variant]]\nname = \"cache\"\naccount.keep_alive_memory_mb = 2048\n\
         function.api.keep_alive = {{ policy = \"greedy-dual\" }}\n",
        scenario("", r#"{ policy = "fixed", duration = "10m" }"#)
    );
    let f = match parse_file(&text, Path::new(PATH)) {
        Ok(f) => f,
        Err(e) => panic!("unexpected error: {e}"),
    };
    assert_eq!(
        f.variants[0].scenario.functions[0].keep_alive,
        KeepAlivePolicy::Hybrid {
            fallback_ns: 10 * MIN,
            min_samples: 3
        }
    );
    let cache = &f.variants[1].scenario;
    assert_eq!(cache.functions[0].keep_alive, KeepAlivePolicy::GreedyDual);
    assert_eq!(cache.account.keep_alive_memory_mb, Some(2048));
}
