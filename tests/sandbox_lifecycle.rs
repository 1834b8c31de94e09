//! Sandbox lifecycle: init once, warm reuse, resets after a crash, timeout or out-of-memory error, limits, logs.

mod common;

use std::time::Instant;

use common::*;
use lambda_sim::sandbox::{ClockMode, LOG_CAPACITY_PER_CALL, Outcome, Sandbox};

fn counts(report: &lambda_sim::sandbox::CallReport) -> (u64, u64) {
    let v: serde_json::Value = serde_json::from_slice(&report.response).expect("JSON response");
    (
        v["inits"].as_u64().unwrap(),
        v["invocations"].as_u64().unwrap(),
    )
}

#[test]
fn init_runs_once_and_state_persists_across_warm_invocations() {
    let engine = engine();
    let code = load(&engine, "toolkit").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let init = now(sandbox.init(limits(10))).unwrap();
    assert_eq!(init.outcome, Outcome::Success);
    for n in 1..=5 {
        let r = now(sandbox.invoke(&event("\"count\""), limits(3))).unwrap();
        assert_eq!(r.outcome, Outcome::Success);
        assert_eq!(counts(&r), (1, n), "init once, invocations accumulate");
    }
}

#[test]
fn handled_error_keeps_the_sandbox_warm() {
    let engine = engine();
    let code = load(&engine, "toolkit").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    now(sandbox.init(limits(10))).unwrap();
    let r = now(sandbox.invoke(&event("\"error\""), limits(3))).unwrap();
    assert_eq!(r.outcome, Outcome::FunctionError);
    let e = r.error.as_ref().unwrap();
    assert_eq!(
        (e.error_type.as_str(), e.error_message.as_str()),
        ("MyError", "it went wrong")
    );
    assert_eq!(
        r.body(),
        br#"{"errorType":"MyError","errorMessage":"it went wrong"}"#.to_vec()
    );
    assert!(!sandbox.is_destroyed());
    let r = now(sandbox.invoke(&event("\"count\""), limits(3))).unwrap();
    assert_eq!(counts(&r), (1, 2));
}

#[test]
fn crash_timeout_and_oom_destroy_the_sandbox() {
    let engine = engine();
    let code = load(&engine, "toolkit").unwrap();
    for (payload, outcome, error_type) in [
        ("\"crash\"", Outcome::Crash, "Runtime.ExitError"),
        ("\"loop\"", Outcome::Timeout, "Sandbox.Timedout"),
        ("\"memory\"", Outcome::OutOfMemory, "Runtime.OutOfMemory"),
    ] {
        let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
        now(sandbox.init(limits(10))).unwrap();
        now(sandbox.invoke(&event("\"count\""), limits(3))).unwrap();
        let r = now(sandbox.invoke(&event(payload), limits(3))).unwrap();
        assert_eq!(r.outcome, outcome, "{payload}");
        assert_eq!(
            r.error.as_ref().unwrap().error_type,
            error_type,
            "{payload}"
        );
        assert!(sandbox.is_destroyed(), "{payload} must destroy the sandbox");
        assert!(
            now(sandbox.invoke(&event("\"count\""), limits(3))).is_err(),
            "a destroyed sandbox is never reused"
        );
        // The next invocation goes to a fresh sandbox: init runs again and state starts over.
        let mut fresh = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
        now(fresh.init(limits(10))).unwrap();
        assert_eq!(
            counts(&now(fresh.invoke(&event("\"count\""), limits(3))).unwrap()),
            (1, 1)
        );
    }
}

#[test]
fn timeout_fires_at_the_limit_in_virtual_time() {
    let engine = engine();
    let code = load(&engine, "infinite-loop").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let id = event("{}").request_id;
    let r = now(sandbox.invoke(&event("{}"), limits(2))).unwrap();
    assert_eq!(r.outcome, Outcome::Timeout);
    assert_eq!(r.duration_ns, 2_000_000_000);
    assert_eq!(
        r.error.unwrap().error_message,
        format!("RequestId: {id} Error: Task timed out after 2.00 seconds")
    );
    // The CPU spent is what the budget allowed: within one fuel unit of the timeout.
    assert!(
        r.cpu_ns >= 1_999_999_000 && r.cpu_ns <= 2_000_001_000,
        "{}",
        r.cpu_ns
    );
}

#[test]
fn timeout_fires_at_the_limit_in_real_time() {
    let engine = engine();
    engine.ensure_epoch_ticker();
    let code = load(&engine, "infinite-loop").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(2048, ClockMode::Real)).unwrap();
    let started = Instant::now();
    let r = in_tokio(sandbox.invoke(&event("{}"), limits(1))).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(r.outcome, Outcome::Timeout);
    assert_eq!(r.duration_ns, 1_000_000_000);
    // Never early; and it does fire (a generous bound: the machine may be loaded).
    assert!(elapsed.as_millis() >= 1000, "fired early: {elapsed:?}");
    assert!(elapsed.as_secs() < 10, "did not fire: {elapsed:?}");
}

#[test]
fn simulated_waits_count_toward_duration_and_timeout() {
    let engine = engine();
    let code = load(&engine, "toolkit").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    now(sandbox.init(limits(10))).unwrap();
    let started = Instant::now();
    let r = now(sandbox.invoke(&event("\"wait\""), limits(3))).unwrap();
    assert!(
        started.elapsed().as_millis() < 2500,
        "virtual waits must not sleep"
    );
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(r.wait_ns, 2_500_000_000);
    assert_eq!(r.duration_ns, r.cpu_ns + r.wait_ns);
    // With a 2 s timeout the 2.5 s wait cannot finish.
    let r = now(sandbox.invoke(&event("\"wait\""), limits(2))).unwrap();
    assert_eq!(r.outcome, Outcome::Timeout);
    assert_eq!(r.duration_ns, 2_000_000_000);
    assert!(sandbox.is_destroyed());
}

#[test]
fn remaining_time_reflects_the_timeout() {
    let engine = engine();
    let code = load(&engine, "toolkit").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let r = now(sandbox.invoke(&event("\"remaining\""), limits(3))).unwrap();
    let remaining: u64 = text(&r.response).parse().unwrap();
    assert!((2990..=3000).contains(&remaining), "{remaining}");
}

#[test]
fn memory_cap_is_the_function_memory_size() {
    let engine = engine();
    let code = load(&engine, "memory-bomb").unwrap();
    for memory_mb in [128u64, 512] {
        let mut sandbox = Sandbox::new(&code, &config(memory_mb, ClockMode::Virtual)).unwrap();
        let r = now(sandbox.invoke(&event("{}"), limits(30))).unwrap();
        assert_eq!(r.outcome, Outcome::OutOfMemory);
        // Grown 16 MiB at a time from 64 KiB: the peak is the last step that still fit under the cap.
        let cap = memory_mb << 20;
        assert!(
            r.peak_memory_bytes <= cap && r.peak_memory_bytes > cap - (16 << 20),
            "{}",
            r.peak_memory_bytes
        );
    }
}

#[test]
fn same_invocation_same_fuel_across_runs() {
    let engine = engine();
    let code = load(&engine, "toolkit").unwrap();
    let fuel = |_| {
        let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
        now(sandbox.init(limits(10))).unwrap();
        let r = now(sandbox.invoke(&event("\"count\""), limits(3))).unwrap();
        (r.fuel, r.cpu_ns)
    };
    let runs: Vec<_> = (0..3).map(fuel).collect();
    assert!(runs[0].0 > 0);
    assert!(runs.iter().all(|r| *r == runs[0]), "{runs:?}");
}

#[test]
fn smaller_memory_means_longer_virtual_cpu_time() {
    let engine = engine();
    let code = load(&engine, "toolkit").unwrap();
    let cpu = |memory_mb| {
        let mut sandbox = Sandbox::new(&code, &config(memory_mb, ClockMode::Virtual)).unwrap();
        let r = now(sandbox.invoke(&event("\"count\""), limits(3))).unwrap();
        (r.fuel, r.cpu_ns)
    };
    let (fuel_small, ns_small) = cpu(128);
    let (fuel_big, ns_big) = cpu(1769);
    assert_eq!(fuel_small, fuel_big, "the same work");
    assert!(
        ns_small > ns_big * 13,
        "128 MB gets 128/1769 of a vCPU: {ns_small} vs {ns_big}"
    );
}

#[test]
fn log_is_captured_and_bounded_without_trapping() {
    let engine = engine();
    let code = load(&engine, "log-flood").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let r = now(sandbox.invoke(&event("{}"), limits(3))).unwrap();
    assert_eq!(r.outcome, Outcome::Success, "{:?}", r.error);
    assert_eq!(&r.response[..], b"\"done\"");
    let written = 128 * 65_000usize;
    let marker = format!(
        "[lambda-sim] log truncated: {} bytes dropped\n",
        written - LOG_CAPACITY_PER_CALL
    );
    assert!(
        text(&r.log).ends_with(&marker),
        "{}",
        &text(&r.log)[r.log.len() - 80..]
    );
    assert_eq!(r.log.len(), LOG_CAPACITY_PER_CALL + 1 + marker.len());
    // The next call starts with an empty log.
    let r = now(sandbox.invoke(&event("{}"), limits(3))).unwrap();
    assert_eq!(r.outcome, Outcome::Success);
}

#[test]
fn misbehaving_guests_are_contained_with_the_right_error() {
    let engine = engine();
    for (fixture, outcome, error_type, message_part) in [
        (
            "trap",
            Outcome::Crash,
            "Runtime.ExitError",
            "integer divide by zero",
        ),
        (
            "deep-recursion",
            Outcome::Crash,
            "Runtime.ExitError",
            "call stack exhausted",
        ),
        (
            "bad-pointer",
            Outcome::Crash,
            "Runtime.ExitError",
            "lambda.event_read: range at pointer 0xfffffff0",
        ),
        (
            "oversized-response",
            Outcome::FunctionError,
            "Function.ResponseSizeTooLarge",
            "(7340032 bytes) exceeded maximum allowed payload size (6291556 bytes)",
        ),
        (
            "infinite-loop",
            Outcome::Timeout,
            "Sandbox.Timedout",
            "Task timed out after 1.00 seconds",
        ),
        (
            "memory-bomb",
            Outcome::OutOfMemory,
            "Runtime.OutOfMemory",
            "out of memory",
        ),
    ] {
        let code = load(&engine, fixture).unwrap();
        let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
        let r = now(sandbox.invoke(&event("\"x\""), limits(1))).unwrap();
        assert_eq!(r.outcome, outcome, "{fixture}");
        let e = r.error.unwrap();
        assert_eq!(e.error_type, error_type, "{fixture}");
        assert!(
            e.error_message.contains(message_part),
            "{fixture}: {}",
            e.error_message
        );
        assert_eq!(
            sandbox.is_destroyed(),
            outcome.destroys_sandbox(),
            "{fixture}"
        );
    }
}

#[test]
fn init_failure_destroys_and_suppressed_init_runs_inside_the_invocation() {
    let engine = engine();
    let code = load(&engine, "init-fails").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let init = now(sandbox.init(limits(10))).unwrap();
    assert_eq!(init.outcome, Outcome::FunctionError);
    assert_eq!(init.error.as_ref().unwrap().error_type, "ConfigError");
    assert!(sandbox.is_destroyed());
    // A fresh sandbox that never ran init runs it inside the invocation, and fails the same way.
    let mut fresh = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let r = now(fresh.invoke(&event("{}"), limits(3))).unwrap();
    assert_eq!(r.outcome, Outcome::FunctionError);
    assert_eq!(r.error.unwrap().error_message, "DATABASE_URL is not set");
    assert!(r.suppressed_init_ns.is_some());
}

#[test]
fn bad_modules_are_rejected_with_a_clear_error() {
    let engine = engine();
    for (fixture, expected) in [
        (
            "missing-handle",
            "does not export `handle`, which every handler must",
        ),
        (
            "wrong-handle-signature",
            "exports `handle` with type (i32) -> (i32), expected () -> (i32)",
        ),
        (
            "wrong-import-signature",
            "imports `lambda.event_len` with type (i32) -> (i64), expected () -> (i32)",
        ),
        (
            "unknown-import",
            "imports `env.now`: only `lambda` and `wasi_snapshot_preview1` imports are provided",
        ),
        (
            "no-abi-version",
            "declares no handler ABI version: add a custom section `lambda-sim-abi`",
        ),
        (
            "future-abi-version",
            "uses handler ABI version 7, which this lambda-sim does not support",
        ),
    ] {
        let err = match load(&engine, fixture) {
            Ok(_) => panic!("{fixture} must be rejected"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(expected), "{fixture}: {err}");
        assert!(
            err.contains(&format!("{fixture}.wat")),
            "the error names the file: {err}"
        );
    }
}

#[test]
fn initial_memory_above_the_memory_size_is_out_of_memory() {
    let engine = engine();
    let wat = r#"(module (@custom "lambda-sim-abi" "1") (memory (export "memory") 2100)
        (func (export "handle") (result i32) (i32.const 0)))"#;
    let code = lambda_sim::sandbox::FunctionCode::from_bytes(
        &engine,
        &lambda_sim::sandbox::CodeCache::in_memory(),
        "big.wat",
        wat.as_bytes(),
    )
    .unwrap();
    // Instantiating is part of init: the memory cannot be created, so init fails with Runtime.OutOfMemory, and
    // the environment is reset.
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let init = now(sandbox.init(limits(10))).unwrap();
    assert_eq!(init.outcome, Outcome::OutOfMemory);
    assert_eq!(init.error.unwrap().error_type, "Runtime.OutOfMemory");
    assert!(sandbox.is_destroyed());
    // Its retry inside the invocation fails the same way.
    let mut fresh = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let r = now(fresh.invoke(&event("{}"), limits(3))).unwrap();
    assert_eq!(r.outcome, Outcome::OutOfMemory);
    let mut big = Sandbox::new(&code, &config(256, ClockMode::Virtual)).unwrap();
    assert_eq!(now(big.init(limits(10))).unwrap().outcome, Outcome::Success);
}

#[test]
fn init_is_cut_at_the_10_second_on_demand_limit() {
    let engine = engine();
    let code = load(&engine, "init-loops").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let r = now(sandbox.init(lambda_sim::sandbox::CallLimits::init(0))).unwrap();
    assert_eq!(r.outcome, Outcome::Timeout);
    assert_eq!(r.duration_ns, 10_000_000_000);
    assert_eq!(
        r.error.unwrap().error_message,
        "Error: Task timed out after 10.00 seconds"
    );
    assert!(sandbox.is_destroyed());
}

#[test]
fn async_sandboxes_time_out_and_yield_so_other_tasks_keep_running() {
    let engine = engine();
    engine.ensure_epoch_ticker();
    let code = load(&engine, "infinite-loop").unwrap();
    // One worker thread: if the spinning guest did not yield, the ticker task below could not run at all.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (outcome, ticks) = runtime.block_on(async {
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let t = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                t.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let mut sandbox = Sandbox::new(&code, &config(1769, ClockMode::Real)).unwrap();
        let r = sandbox.invoke(&event("{}"), limits(1)).await.unwrap();
        ticker.abort();
        (r.outcome, ticks.load(std::sync::atomic::Ordering::Relaxed))
    });
    assert_eq!(outcome, Outcome::Timeout);
    assert!(
        ticks >= 10,
        "the runtime kept running other tasks during the guest's loop: {ticks} ticks"
    );
}

#[test]
fn async_waits_do_not_block_the_thread() {
    let engine = engine();
    let code = load(&engine, "toolkit").unwrap();
    // Tokio's clock is paused: sleeps complete at once and tokio's Instant shows exactly how long they overlapped.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let reports = runtime.block_on(async {
        // Two sandboxes waiting 2.5 s each, on one thread: concurrently, not one after the other.
        let run = || async {
            let mut s = Sandbox::new(&code, &config(1769, ClockMode::Real)).unwrap();
            s.invoke(&event("\"wait\""), limits(5)).await.unwrap()
        };
        let started = tokio::time::Instant::now();
        let (a, b) = tokio::join!(run(), run());
        (a, b, started.elapsed())
    });
    assert_eq!(reports.0.outcome, Outcome::Success);
    assert_eq!(reports.1.outcome, Outcome::Success);
    assert!(reports.0.wait_ns >= 2_500_000_000);
    assert!(
        reports.2.as_secs_f64() < 3.0,
        "the waits overlapped (sequential would be 5 s): {:?}",
        reports.2
    );
}

#[test]
fn a_wasi_sleep_is_a_simulated_wait_bounded_by_the_timeout() {
    // `poll_oneoff` with a 15 s clock subscription, in virtual time: the sleep is virtual. With a 3 s timeout it
    // times out at 3 s (it used to succeed in 113 ms of "duration" while the host really slept 15 s).
    let engine = engine();
    let code = load(&engine, "wasi-sleep").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let r = now(sandbox.invoke(&event("{}"), limits(3))).unwrap();
    assert_eq!(r.outcome, Outcome::Timeout);
    assert_eq!(r.duration_ns, 3_000_000_000);
    assert_eq!(r.error.unwrap().error_type, "Sandbox.Timedout");
    // With room for it, the sleep completes and counts as a wait.
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let r = now(sandbox.invoke(&event("{}"), limits(20))).unwrap();
    assert_eq!(r.outcome, Outcome::Success, "{:?}", r.error);
    assert_eq!(&r.response[..], b"\"slept\"");
    assert_eq!(r.wait_ns, 15_000_000_000);
    assert_eq!(r.duration_ns, r.cpu_ns + r.wait_ns);
}

#[test]
fn a_wasi_sleep_is_cut_at_the_deadline_in_real_time() {
    let engine = engine();
    engine.ensure_epoch_ticker();
    let code = load(&engine, "wasi-sleep").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(1769, ClockMode::Real)).unwrap();
    let r = in_tokio(sandbox.invoke(&event("{}"), limits(1))).unwrap();
    assert_eq!(r.outcome, Outcome::Timeout);
    assert_eq!(r.duration_ns, 1_000_000_000);
}

#[test]
fn host_calls_cost_virtual_time_so_loops_of_them_time_out() {
    // Loops of log writes and of `remaining_time_ms` used to cost no virtual time: they never reached their timeout
    // in virtual time (minutes of wall time for a 1 s timeout). Each host call now costs
    // lambda_sim_model::cpu::HOST_CALL_NS of virtual CPU time at one vCPU.
    let engine = engine();
    for fixture in ["log-loop", "remaining-loop"] {
        let code = load(&engine, fixture).unwrap();
        let mut sandbox = Sandbox::new(&code, &config(1769, ClockMode::Virtual)).unwrap();
        let r = now(sandbox.invoke(&event("{}"), limits(1))).unwrap();
        assert_eq!(r.outcome, Outcome::Timeout, "{fixture}");
        assert_eq!(r.duration_ns, 1_000_000_000, "{fixture}");
    }
    // One host call more is 1 µs more of virtual CPU at 1769 MB.
    let code = load(&engine, "toolkit").unwrap();
    let cpu = |payload: &str| {
        let mut sandbox = Sandbox::new(&code, &config(1769, ClockMode::Virtual)).unwrap();
        now(sandbox.init(limits(10))).unwrap();
        let r = now(sandbox.invoke(&event(payload), limits(3))).unwrap();
        (r.cpu_ns, r.fuel)
    };
    let (ns, fuel) = cpu("\"remaining\"");
    assert!(
        ns >= lambda_sim::cpu::HOST_CALL_NS * 3,
        "event_len, event_read, remaining_time_ms and response_write cost at least 1 µs each: {ns} ns for {fuel} fuel"
    );
}

#[test]
fn a_start_function_is_init_and_is_cut_at_the_init_limit() {
    // A module's start function runs at instantiation, which is part of the Init phase: a start function that
    // never returns is an init timeout at 10 s (it used to fail instantiation as a crash).
    let engine = engine();
    let code = load(&engine, "start-loops").unwrap();
    let mut sandbox = Sandbox::new(&code, &config(128, ClockMode::Virtual)).unwrap();
    let r = now(sandbox.init(lambda_sim::sandbox::CallLimits::init(0))).unwrap();
    assert_eq!(r.outcome, Outcome::Timeout);
    assert_eq!(r.duration_ns, 10_000_000_000);
    assert!(sandbox.is_destroyed());
}
