//! `[trace]` parsing: settings errors point at the offending value, trace file errors at the trace file's line and
//! column, and variants override the trace and its function template.

use std::path::Path;

use super::{assert_err, err};
use crate::scenario::{KeepAlivePolicy, parse_file};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/azure/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn base(extra: &str) -> String {
    format!(
        "[simulation]\nseed = 1\n\n[trace]\nformat = \"azure-2019\"\ninvocations = {:?}\n{extra}\n",
        fixture("invocations_per_function_md.anon.d01.csv")
    )
}

#[test]
fn settings_errors_are_positioned() {
    let t = base("spread = \"bursty\"");
    assert_err(
        &t,
        "\"bursty\"",
        "trace: spread = \"bursty\" is not a spread rule; expected \"uniform\", \"poisson\" or \"equally-spaced\"",
    );
    let t = base("sample = 0");
    assert_err(
        &t,
        "0\n",
        "trace: sample = 0 is outside the allowed range 1–100000 functions",
    );
    let t = base("start = \"90s\"");
    assert_err(
        &t,
        "\"90s\"",
        "trace: \"90s\" must be a whole number of minutes within the day (0–24h): the 2019 trace counts invocations per minute",
    );
    let t = base("speedup = -1");
    assert_err(
        &t,
        "-1",
        "trace: speedup = -1 is outside the allowed range 0.001–1000000",
    );
    let t = base("speedup = 1e-9");
    assert_err(
        &t,
        "1e-9",
        "trace: speedup = 0.000000001 is outside the allowed range 0.001–1000000",
    );
    let t = base("start = \"24h\"");
    assert_err(
        &t,
        "\"24h\"",
        "trace: \"24h\" must be a whole number of minutes within the day (0–24h): the 2019 trace counts invocations per minute",
    );
    // Filters that match nothing: a clear error at the [trace] table, not an empty run.
    let t = base("apps = [\"ffffffffff\"]");
    let e = err(&t);
    assert!(
        e.message.starts_with("trace: no function of ")
            && e.message.ends_with(
                "has an invocation in the window that matches the filters (check triggers, apps, owners, start and end)"
            ),
        "{e}"
    );
    assert_eq!((e.line, e.column), (4, 1), "{e}");
    let t = base("triggers = [\"http\", \"cron\"]");
    assert_err(
        &t,
        "\"cron\"",
        "trace: triggers: \"cron\" is not a trigger of the 2019 trace; expected one of http, timer, event, queue, storage, orchestration, others",
    );
    let t = base("durations = \"nope.csv\"");
    let e = err(&t);
    assert!(
        e.message
            .starts_with("trace: durations = \"nope.csv\": no such file"),
        "{e}"
    );
    let t = base("[trace.function]\nmemory_mb = 64");
    assert_err(
        &t,
        "64",
        "function \"trace-function\": memory_mb = 64 is outside Lambda's range 128–10240 MB",
    );
    let t = base("[trace.function]\nname = \"x\"");
    assert_err(
        &t,
        "\"x\"",
        "trace.function: name cannot be set: trace functions are named after their hashes",
    );
}

#[test]
fn trace_file_errors_name_the_trace_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("lsim-trace-parse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("inv.csv");
    let text =
        std::fs::read_to_string(fixture("invocations_per_function_md.anon.d01.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[3] = lines[3]
        .replacen(",http,", ",webhook,", 1)
        .replacen(",timer,", ",webhook,", 1)
        .replacen(",queue,", ",webhook,", 1)
        .replacen(",event,", ",webhook,", 1)
        .replacen(",storage,", ",webhook,", 1)
        .replacen(",orchestration,", ",webhook,", 1)
        .replacen(",others,", ",webhook,", 1);
    std::fs::write(&file, lines.join("\n")).unwrap();
    let t = format!("[simulation]\n[trace]\nformat = \"azure-2019\"\ninvocations = {file:?}\n");
    let e = parse_file(&t, Path::new("/nonexistent/t.toml")).unwrap_err();
    assert_eq!(e.file, file.display().to_string());
    assert_eq!((e.line, e.column), (4, 4), "{e}");
    assert!(
        e.message.starts_with("field `Trigger` has value `webhook`"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn variants_override_the_trace_and_its_template() {
    let t = base(
        "top = 8\n[trace.function]\nkeep_alive = { policy = \"fixed\", duration = \"10m\" }\n\n\
         [[variant]]\nname = \"fixed\"\n\n[[variant]]\nname = \"hybrid\"\ntrace.function.keep_alive = { policy = \"hybrid\" }\ntrace.top = 3\n",
    );
    let f = parse_file(&t, Path::new("/nonexistent/t.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.base.functions.len(), 8);
    assert!(f.base.functions.iter().all(|x| x.keep_alive
        == KeepAlivePolicy::Fixed {
            idle_ns: 600_000_000_000
        }));
    assert!(
        f.base
            .functions
            .iter()
            .all(|x| x.timeout_ns == 900_000_000_000 && x.code.ends_with("functions/stand-in"))
    );
    let h = &f.variants[1];
    assert_eq!(h.scenario.functions.len(), 3);
    assert!(matches!(
        h.scenario.functions[0].keep_alive,
        KeepAlivePolicy::Hybrid { .. }
    ));
    assert_eq!(
        h.overrides,
        [
            "trace.function.keep_alive = { policy = \"hybrid\" }",
            "trace.top = 3"
        ]
    );
    // Names are hash prefixes, the same in every variant for the same function.
    assert_eq!(h.scenario.functions[0].name, f.base.functions[0].name);

    let t = "[simulation]\nduration = 60\n[[function]]\nname = \"a\"\ncode = \"functions/hello\"\n[[variant]]\nname = \"v\"\ntrace.top = 3\n";
    assert_err(
        t,
        "trace.top",
        "variant \"v\": trace.<key> overrides the file's [trace], but it has none",
    );
}

/// `[trace.handlers]` maps trace functions (by HashFunction prefix) to named real handlers; the others keep the
/// stand-in. A prefix that selects nothing is an error at its value.
#[test]
fn handlers_map_trace_functions_to_real_handlers() {
    let t = base("[trace.handlers]\n\"d36124a3\" = \"functions/hello\"");
    let s = super::ok(&t);
    let tr = s.trace.as_ref().expect("trace");
    let mut mapped = 0;
    for f in &tr.functions {
        let code = &s.functions[f.function].code;
        if f.hash.starts_with("d36124a3") {
            assert!(code.ends_with("functions/hello"), "{}", code.display());
            mapped += 1;
        } else {
            assert!(code.ends_with("functions/stand-in"), "{}", code.display());
        }
    }
    assert_eq!(mapped, 1);
    let t = base("[trace.handlers]\n\"zz\" = \"functions/hello\"");
    assert_err(
        &t,
        "\"functions/hello\"",
        "trace.handlers.zz: no selected trace function's HashFunction starts with \"zz\" (keys are HashFunction prefixes)",
    );
}
