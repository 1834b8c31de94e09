//! Invalid scenarios: each error names the field, the value and the allowed range, and points at the value.

use std::path::Path;

use super::{HEADER, PATH, assert_err, err, pos};
use crate::scenario::load;

fn with_function(extra: &str) -> String {
    format!(
        "[simulation]\nduration = \"10m\"\n\n[[function]]\nname = \"api\"\ncode = \"functions/hello\"\n{extra}\n"
    )
}

fn with_traffic(body: &str) -> String {
    format!(
        "{HEADER}\n[[function]]\nname = \"worker\"\ncode = \"functions/hello\"\n\n[[traffic]]\n{body}\n"
    )
}

#[test]
fn memory_out_of_range() {
    assert_err(
        &with_function("memory_mb = 64"),
        "64",
        "function \"api\": memory_mb = 64 is outside Lambda's range 128–10240 MB",
    );
    assert_err(
        &with_function("memory_mb = 10241"),
        "10241",
        "function \"api\": memory_mb = 10241 is outside Lambda's range 128–10240 MB",
    );
}

#[test]
fn timeout_out_of_range() {
    assert_err(
        &with_function("timeout = 901"),
        "901",
        "function \"api\": timeout = 901 is outside Lambda's range 1–900 s",
    );
    assert_err(
        &with_function("timeout = \"500ms\""),
        "\"500ms\"",
        "function \"api\": timeout = \"500ms\" is outside Lambda's range 1–900 s",
    );
}

#[test]
fn reserved_concurrency_leaves_too_little() {
    assert_err(
        &with_function("reserved_concurrency = 950"),
        "950",
        "function \"api\": reserved_concurrency = 950 leaves 50 unreserved, below the account's unreserved minimum of \
         100 (at most 900 may be reserved)",
    );
    assert_err(
        &with_function("reserved_concurrency = 1001"),
        "1001",
        "function \"api\": reserved_concurrency = 1001 exceeds the account's concurrency_limit of 1000 (at most 900 \
         may be reserved)",
    );
    let text = format!(
        "{}\n[[function]]\nname = \"b\"\ncode = \"functions/hello\"\nreserved_concurrency = 401\n",
        with_function("reserved_concurrency = 500")
    );
    assert_err(
        &text,
        "401",
        "function \"b\": reserved_concurrency = 401 brings the total reserved to 901, leaving 99 unreserved, below the \
         account's unreserved minimum of 100 (at most 900 may be reserved across all functions)",
    );
    assert_err(
        &with_function("reserved_concurrency = -1"),
        "-1",
        "function \"api\": reserved_concurrency = -1 must be ≥ 0",
    );
}

#[test]
fn provisioned_concurrency_limits() {
    assert_err(
        &with_function("reserved_concurrency = 10\nprovisioned_concurrency = 20"),
        "20",
        "function \"api\": provisioned_concurrency = 20 exceeds reserved_concurrency = 10",
    );
    let text = format!(
        "{}\n[[function]]\nname = \"b\"\ncode = \"functions/hello\"\nprovisioned_concurrency = 601\n",
        with_function("reserved_concurrency = 300\nprovisioned_concurrency = 300")
    );
    assert_err(
        &text,
        "601",
        "function \"b\": provisioned_concurrency = 601 leaves 99 of the 700 unreserved concurrency, below the \
         account's unreserved minimum of 100 (at most 600 may be provisioned on functions without reserved \
         concurrency)",
    );
}

#[test]
fn undeclared_function_in_traffic() {
    let text = with_traffic("function = \"apii\"\npattern = \"poisson\"\nrate = 1");
    assert_err(
        &text,
        "\"apii\"",
        "traffic[0]: function \"apii\" is not declared (declared: api, worker)",
    );
}

#[test]
fn duplicate_and_bad_function_names() {
    let text = format!("{HEADER}\n[[function]]\nname = \"api\"\ncode = \"functions/hello\"\n");
    let e = err(&text);
    assert_eq!(
        e.message,
        "function \"api\" is declared twice (first at line 6)"
    );
    assert_eq!(e.line, 10);
    let text =
        "[simulation]\nduration = 1\n[[function]]\nname = \"a b\"\ncode = \"functions/hello\"\n";
    assert_err(
        text,
        "\"a b\"",
        "function name \"a b\" must be 1–64 characters of A–Z, a–z, 0–9, - and _",
    );
}

#[test]
fn code_not_found() {
    let text =
        "[simulation]\nduration = 1\n[[function]]\nname = \"a\"\ncode = \"functions/nope\"\n";
    assert_err(
        text,
        "\"functions/nope\"",
        "function \"a\": code = \"functions/nope\" not found (looked in the current directory and at \
         /nonexistent/scenarios/functions/nope)",
    );
}

#[test]
fn syntax_errors_have_positions() {
    let text = "[simulation]\nduration = \"10m\n";
    let e = err(text);
    assert_eq!(e.line, 2, "{e}");
    assert!(e.to_string().starts_with(&format!("{PATH}:2:")), "{e}");

    let text = "[simulation]\nduration = \"10m\"\nfoo = 1\n";
    let e = err(text);
    assert_eq!((e.line, e.column), (3, 1), "{e}");
    assert!(e.message.contains("unknown field `foo`"), "{e}");

    let text = format!("{HEADER}memory = 128\n");
    let e = err(&text);
    assert_eq!((e.line, e.column), pos(&text, "memory = "), "{e}");
    assert!(
        e.message.contains("unknown field `memory`") && e.message.contains("memory_mb"),
        "{e}"
    );

    let e = err(&format!("{HEADER}memory_mb = \"big\"\n"));
    assert!(e.message.contains("invalid type"), "{e}");
}

#[test]
fn missing_file_has_line_zero() {
    let e = load(Path::new("/nonexistent/x.toml")).unwrap_err();
    assert_eq!((e.line, e.column), (0, 0));
    assert_eq!(e.file, "/nonexistent/x.toml");
    assert!(
        e.to_string()
            .starts_with("/nonexistent/x.toml: cannot read scenario file"),
        "{e}"
    );
}

#[test]
fn simulation_errors() {
    let e = err("[[function]]\nname = \"a\"\ncode = \"functions/hello\"\n");
    assert!(e.message.contains("missing [simulation]"), "{e}");
    assert_err(
        "[simulation]\nseed = 1\n",
        "[simulation]",
        "simulation: duration is required (e.g. duration = \"10m\")",
    );
    let text = "[simulation]\nduration = \"10 parsecs\"\n";
    let e = err(text);
    assert_eq!((e.line, e.column), (2, 12));
    assert!(
        e.message.starts_with(
            "simulation: duration = \"10 parsecs\" is not a duration (unknown time unit"
        ),
        "{e}"
    );
    assert!(
        e.message
            .ends_with("write e.g. \"90s\", \"10m\", \"1h 30m\", \"250ms\" or a number of seconds"),
        "{e}"
    );
    assert_err(
        "[simulation]\nduration = 0\n",
        "0",
        "simulation: duration = 0 must be longer than 0",
    );
    assert_err(
        "[simulation]\nduration = -3\n",
        "-3",
        "simulation: duration = -3 must be a non-negative number of seconds",
    );
    assert_err(
        "[simulation]\nduration = 1\nns_per_fuel = 0\n",
        "0\n",
        "simulation: ns_per_fuel = 0 is outside the allowed range (0, 1000] ns",
    );
    assert_err(
        "[simulation]\nduration = 1\nseed = -2\n",
        "-2",
        "simulation: seed = -2 must be ≥ 0",
    );
    let e = err("[simulation]\nduration = 1\nmode = \"fast\"\n");
    assert!(
        e.message.contains("unknown variant `fast`") && e.message.contains("virtual"),
        "{e}"
    );
    let e = err("[simulation]\nduration = 1\n");
    assert!(e.message.contains("no [[function]]"), "{e}");
}

#[test]
fn account_errors() {
    assert_err(
        &format!("{HEADER}[account]\nconcurrency_limit = 0\n"),
        "0\n",
        "account: concurrency_limit = 0 is outside the allowed range 1–1000000",
    );
    // Lambda fixes the unreserved minimum at min(100, limit): another value only under [not_lambda].
    assert_err(
        &format!("{HEADER}[account]\nunreserved_minimum = 0\n"),
        "0\n",
        "account: unreserved_minimum = 0, but Lambda fixes it at min(100, concurrency_limit) = 100; to experiment \
         with another value, set it under [not_lambda] (unreserved_minimum = 0)",
    );
    assert_err(
        &format!("{HEADER}[account]\nconcurrency_limit = 50\nunreserved_minimum = 10\n"),
        "10\n",
        "account: unreserved_minimum = 10, but Lambda fixes it at min(100, concurrency_limit) = 50; to experiment \
         with another value, set it under [not_lambda] (unreserved_minimum = 10)",
    );
    assert_err(
        &format!("{HEADER}[not_lambda]\nunreserved_minimum = 1001\n"),
        "1001",
        "not_lambda: unreserved_minimum = 1001 is outside the allowed range 0–1000 (0 to the account's \
         concurrency_limit)",
    );

    assert_err(
        &format!("{HEADER}[account]\nscaling = \"legacy\"\nlegacy_burst = 2000\n"),
        "2000",
        "account: legacy_burst = 2000 is not one of Lambda's Regional bursts 500, 1000, 3000",
    );
    assert_err(
        &format!("{HEADER}[account]\nlegacy_burst = 500\n"),
        "500",
        "account: legacy_burst applies only with scaling = \"legacy\" (scaling is \"per-function\")",
    );
}

#[test]
fn function_field_errors() {
    assert_err(
        &with_function("keep_alive = { policy = \"fixed\" }"),
        "\"fixed\"",
        "function \"api\": keep_alive policy \"fixed\" needs a duration, e.g. { policy = \"fixed\", duration = \"10m\" }",
    );
    assert_err(
        &with_function("keep_alive = { policy = \"lambda\", duration = \"1m\" }"),
        "\"1m\"",
        "function \"api\": keep_alive.duration applies only to policy \"fixed\" (policy is \"lambda\")",
    );
    assert_err(
        &with_function("max_lifetime = 0"),
        "0\n",
        "function \"api\": max_lifetime = 0 must be longer than 0",
    );
    assert_err(
        &with_function("cold_start = { download_mbps = 0 }"),
        "0 }",
        "function \"api\": cold_start.download_mbps = 0 is outside the allowed range (0, 1000000] MB/s",
    );
    assert_err(
        &with_function(
            "runtime = \"java21\"\ncold_start = { runtime_startup_ms = { distribution = \"constant\", value = 80 } }",
        ),
        "{ distribution = \"constant\", value = 80 } }",
        "function \"api\": cold_start.runtime_startup_ms and runtime = \"java21\" both say how the runtime starts; set one of them",
    );
    let e = err(&with_function("architecture = \"riscv\""));
    assert!(e.message.contains("unknown variant `riscv`"), "{e}");
}

#[test]
fn distribution_errors() {
    let think = |d: &str| {
        with_traffic(&format!(
            "function = \"api\"\npattern = \"closed_loop\"\nusers = 2\nthink_time_ms = {d}"
        ))
    };
    assert_err(
        &think("{ distribution = \"exponential\", mean = 0 }"),
        "0 }",
        "traffic[0]: think_time_ms.mean = 0 must be > 0",
    );
    assert_err(
        &think("{ distribution = \"gamma\", shape = 2 }"),
        "\"gamma\"",
        "traffic[0]: think_time_ms.distribution = \"gamma\" is not one of constant, uniform, exponential, normal, \
         lognormal, empirical",
    );
    assert_err(
        &think("{ distribution = \"uniform\", min = 5, max = 1 }"),
        "1 }",
        "traffic[0]: think_time_ms: uniform max = 1 is below min = 5",
    );
    assert_err(
        &think("{ distribution = \"normal\", mean = 5 }"),
        "{ distribution",
        "traffic[0]: think_time_ms: distribution \"normal\" needs `stddev`",
    );
    assert_err(
        &think("{ distribution = \"normal\", mean = 5, stddev = 1, integer = true }"),
        "true",
        "traffic[0]: think_time_ms: unknown field `integer` for distribution \"normal\" (expected mean, stddev)",
    );
    assert_err(
        &think("{ distribution = \"empirical\", values = [1, 2], weights = [1] }"),
        "[1] }",
        "traffic[0]: think_time_ms.weights has 1 entries but values has 2; they must have the same length",
    );
    assert_err(
        &think("{ distribution = \"empirical\", values = [1, 2], weights = [1, -1] }"),
        "[1, -1]",
        "traffic[0]: think_time_ms.weights: -1 is negative; weights must be ≥ 0",
    );
    assert_err(
        &think("5"),
        "5\n",
        "traffic[0]: think_time_ms must be a distribution table such as { distribution = \"exponential\", mean = 500 }, found an integer",
    );
}

#[test]
fn traffic_errors() {
    assert_err(
        &with_traffic("function = \"api\"\npattern = \"spike\"\nrate = 5\ncount = 1"),
        "5\n",
        "traffic[0]: rate does not apply to pattern \"spike\" (it takes count, window)",
    );
    assert_err(
        &with_traffic("function = \"api\"\npattern = \"poisson\""),
        "\"poisson\"",
        "traffic[0]: pattern \"poisson\" needs rate (requests per second)",
    );
    assert_err(
        &with_traffic("function = \"api\"\npattern = \"constant\"\nrate = 0"),
        "0\n",
        "traffic[0]: rate = 0 is outside the allowed range (0, 10000000] requests/s",
    );
    assert_err(
        &with_traffic("function = \"api\"\npattern = \"spike\"\ncount = 0"),
        "0\n",
        "traffic[0]: count = 0 is outside the allowed range 1–1000000000 requests",
    );
    // A count no scenario needs is refused at validate, not left to eat memory or run for ever.
    assert_err(
        &with_traffic("function = \"api\"\npattern = \"spike\"\ncount = 9223372036854775807"),
        "9223372036854775807\n",
        "traffic[0]: count = 9223372036854775807 is outside the allowed range 1–1000000000 requests",
    );
    assert_err(
        &with_traffic(
            "function = \"api\"\npattern = \"spike\"\ncount = 5\nduration = 10\nwindow = \"11s\"",
        ),
        "\"11s\"",
        "traffic[0]: window = \"11s\" is longer than the phase (10s)",
    );
    assert_err(
        &with_traffic(
            "function = \"api\"\npattern = \"step\"\nsteps = [{ at = \"1m\", rate = 5 }, { at = 60, rate = 50 }]",
        ),
        "60,",
        "traffic[0]: steps[1].at = 60 is not after the previous step (1m)",
    );
    assert_err(
        &with_traffic(
            "function = \"api\"\npattern = \"step\"\nduration = \"1m\"\nsteps = [{ at = \"1m\", rate = 5 }]",
        ),
        "\"1m\", rate",
        "traffic[0]: steps[0].at = \"1m\" is at or after the end of the phase (1m)",
    );
    assert_err(
        &with_traffic("function = \"api\"\npattern = \"poisson\"\nrate = 1\nstart = \"15m\""),
        "\"15m\"",
        "traffic[0]: start = \"15m\" is at or after the end of the simulation (10m)",
    );
    assert_err(
        &with_traffic("function = \"api\"\npattern = \"replay\"\nfile = \"traces/none.csv\""),
        "\"traces/none.csv\"",
        "traffic[0]: file = \"traces/none.csv\": no such file (/nonexistent/scenarios/traces/none.csv)",
    );
    assert_err(
        &with_traffic("function = \"api\"\npattern = \"ramp\"\nfrom_rate = 0\nto_rate = 0e0"),
        "0e0",
        "traffic[0]: from_rate and to_rate are both 0: the ramp sends nothing",
    );
    let e = err(&with_traffic("function = \"api\"\npattern = \"burst\""));
    assert!(
        e.message.contains("unknown variant `burst`") && e.message.contains("closed_loop"),
        "{e}"
    );
    let e = err(&with_traffic("pattern = \"poisson\"\nrate = 1"));
    assert_eq!(
        e.message,
        "traffic[0]: function or queue is required (the [[function]] to invoke or the [[queue]] to send messages to)"
    );
}

#[test]
fn payload_errors() {
    let base = "function = \"api\"\npattern = \"poisson\"\nrate = 1\n";
    assert_err(
        &with_traffic(&format!("{base}payload = '{{\"a\":'")),
        "'{",
        "traffic[0]: payload is not valid JSON: EOF while parsing a value at line 1 column 5",
    );
    assert_err(
        &with_traffic(&format!(
            "{base}payload = '{{}}'\npayload_template = {{ a = 1 }}"
        )),
        "{ a = 1 }",
        "traffic[0]: payload and payload_template are mutually exclusive; give at most one payload",
    );
    assert_err(
        &with_traffic(&format!(
            "{base}payload_template = {{ a = [{{ distribution = \"constant\", value = 1 }}] }}"
        )),
        "{ distribution",
        "traffic[0]: payload_template.a[0]: distributions inside arrays are not supported; use a table field instead",
    );
    assert_err(
        &with_traffic(&format!("{base}payload_template = {{ a = nan }}")),
        "nan",
        "traffic[0]: payload_template.a = NaN cannot be represented in JSON",
    );
    assert_err(
        &with_traffic(&format!(
            "{base}payload_template = {{ a = {{ distribution = \"constant\", value = 1, integer = 2 }} }}"
        )),
        "2 }",
        "traffic[0]: payload_template.a.integer must be true or false, found an integer",
    );
}

#[test]
fn keep_alive_era_belongs_to_the_lambda_policy() {
    assert_err(
        &format!(
            "{HEADER}[[function]]\nname = \"b\"\ncode = \"functions/hello\"\n\
             keep_alive = {{ policy = \"fixed\", duration = \"10m\", era = \"2019\" }}\n"
        ),
        "\"2019\"",
        "function \"b\": keep_alive.era applies only to policy \"lambda\" (policy is \"fixed\")",
    );
}

#[test]
fn environment_variables_follow_lambdas_rules() {
    let s = super::ok(&with_function(
        "environment = { STAGE = \"prod\", DB_HOST = \"db:5432\" }",
    ));
    assert_eq!(
        s.functions[0]
            .environment
            .get("DB_HOST")
            .map(String::as_str),
        Some("db:5432")
    );
    assert_err(
        &with_function("environment = { \"9LIVES\" = \"x\" }"),
        "{ \"9LIVES\"",
        "function \"api\": environment: key \"9LIVES\" is not a letter followed by letters, digits or _ (Lambda's [a-zA-Z]([a-zA-Z0-9_])+)",
    );
    assert_err(
        &with_function("environment = { AWS_REGION = \"eu-west-1\" }"),
        "{ AWS_REGION",
        "function \"api\": environment: key \"AWS_REGION\" is reserved: Lambda sets it for every function",
    );
    let big = format!("environment = {{ BLOB = \"{}\" }}", "x".repeat(4093));
    assert_err(
        &with_function(&big),
        "{ BLOB",
        "function \"api\": environment: keys and values come to 4097 bytes; Lambda allows at most 4096",
    );
}
