//! Runs cannot eat the machine: live execution environments share a memory budget, and a run that would exceed it
//! stops with an error naming the function, its live environments and the budget (exit 2) — in virtual and in real
//! time. `validate` refuses code that is not code, with its position.

mod common;

use common::*;

fn spike_scenario(dir: &std::path::Path, mode: &str) -> std::path::PathBuf {
    spike_scenario_of(dir, mode, "request_response")
}

fn spike_scenario_of(dir: &std::path::Path, mode: &str, invocation: &str) -> std::path::PathBuf {
    let path = dir.join("spike.toml");
    let hello = root().join("functions/hello");
    std::fs::write(
        &path,
        format!(
            "[simulation]\nname = \"spike\"\nduration = \"10s\"\nmode = \"{mode}\"\nmemory_budget_mb = 64\n\n\
             [[function]]\nname = \"api\"\ncode = {hello:?}\n\n\
             [[traffic]]\nfunction = \"api\"\ninvocation = \"{invocation}\"\npattern = \"spike\"\ncount = 100000\nwindow = \"10ms\"\n"
        ),
    )
    .unwrap();
    path
}

fn check_budget_error(out: &std::process::Output) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("memory budget exceeded: another execution environment of function \"api\""),
        "{stderr}"
    );
    assert!(stderr.contains("past its budget of 64 MB"), "{stderr}");
    let live: u32 = stderr
        .split("\"api\" has ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no live count: {stderr}"));
    assert!((10..1000).contains(&live), "{stderr}");
}

#[test]
fn a_spike_past_the_memory_budget_stops_the_virtual_run_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = spike_scenario(dir.path(), "virtual");
    let out = lambda_sim(&["run", path.to_str().unwrap(), "-q"]);
    check_budget_error(&out);
    // The same stop, at the same point, every time (sizes come from the guests, not the host).
    assert_eq!(
        text(&lambda_sim(&["run", path.to_str().unwrap(), "-q"]).stderr),
        text(&out.stderr)
    );
    // With room enough, the same run completes.
    let out = lambda_sim(&[
        "run",
        path.to_str().unwrap(),
        "-q",
        "--memory-budget-mb",
        "16384",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_spike_past_the_memory_budget_stops_the_real_time_run_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = spike_scenario(dir.path(), "realtime");
    check_budget_error(&lambda_sim(&["run", path.to_str().unwrap(), "-q"]));
}

#[test]
fn an_async_backlog_past_the_budget_stops_the_real_time_run_without_draining_it() {
    // The events still queued when the budget stops the run are not waited for (the drain limit is 15 minutes).
    let dir = tempfile::tempdir().unwrap();
    let path = spike_scenario_of(dir.path(), "realtime", "event");
    let started = std::time::Instant::now();
    check_budget_error(&lambda_sim(&["run", path.to_str().unwrap(), "-q"]));
    eprintln!("stopped after {:?}", started.elapsed());
}

#[test]
fn budget_and_code_errors_name_the_value_and_the_range() {
    let out = lambda_sim(&[
        "run",
        "scenarios/steady-api.toml",
        "--memory-budget-mb",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("1 is outside the allowed range 64–16777216 MB"),
        "{}",
        text(&out.stderr)
    );

    // A directory that holds no code (an empty one: /tmp itself may hold anyone's stray `.py` files).
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let path = dir.path().join("dir-as-code.toml");
    std::fs::write(
        &path,
        format!(
            "[simulation]\nduration = \"1m\"\n\n[[function]]\nname = \"f\"\ncode = {empty:?}\n"
        ),
    )
    .unwrap();
    let out = lambda_sim(&["validate", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "dir-as-code.toml:6:8: function \"f\": code = {:?}",
            empty.display().to_string()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("not a .wasm/.wat/.py/.mjs/.js file"),
        "{stderr}"
    );

    std::fs::write(
        &path,
        "[simulation]\nduration = \"1m\"\nmemory_budget_mb = 10\n",
    )
    .unwrap();
    let stderr = text(&lambda_sim(&["validate", path.to_str().unwrap()]).stderr);
    assert!(
        stderr.contains(
            ":3:20: simulation: memory_budget_mb = 10 is outside the allowed range 64–16777216 MB"
        ),
        "{stderr}"
    );
}
