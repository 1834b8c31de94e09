//! Guests that misbehave quietly get Lambda's answer: a refused `memory.grow` the guest survives is still
//! `Runtime.OutOfMemory` (and a reset), `proc_exit(n)` is `Runtime.ExitError` with the status, and `event_read`
//! into a buffer that leaves linear memory traps even when the event is short.

mod common;

use common::*;
use lambda_sim::sandbox::{ClockMode, FunctionCode, Outcome, Sandbox};

fn wat(engine: &lambda_sim::sandbox::SandboxEngine, name: &str, text: &str) -> FunctionCode {
    FunctionCode::from_bytes(
        engine,
        &lambda_sim::sandbox::CodeCache::in_memory(),
        name,
        text.as_bytes(),
    )
    .unwrap()
}

/// Runs one invocation of `code` at 128 MB and returns its outcome, error type and message, and whether the
/// sandbox was reset.
fn invoke_once(code: &FunctionCode) -> (Outcome, String, String, bool) {
    let mut sandbox = Sandbox::new(code, &config(128, ClockMode::Virtual)).unwrap();
    assert_eq!(
        now(sandbox.init(limits(10))).unwrap().outcome,
        Outcome::Success
    );
    let r = now(sandbox.invoke(&event("{}"), limits(3))).unwrap();
    let e = r.error.clone().unwrap_or_else(|| {
        Box::new(lambda_sim::sandbox::ErrorBody::new(
            "",
            String::from_utf8_lossy(&r.response),
        ))
    });
    (
        r.outcome,
        e.error_type,
        e.error_message,
        sandbox.is_destroyed(),
    )
}

#[test]
fn a_refused_memory_grow_the_guest_survives_is_out_of_memory_and_resets() {
    let engine = engine();
    // Asks for 200 MB more (past 128 MB), sees -1, and returns success as if nothing happened.
    let code = wat(
        &engine,
        "survivor.wat",
        r#"(module (@custom "lambda-sim-abi" "1") (memory (export "memory") 1)
            (func (export "handle") (result i32)
              (drop (memory.grow (i32.const 3200)))
              (i32.const 0)))"#,
    );
    let (outcome, error_type, message, reset) = invoke_once(&code);
    assert_eq!(outcome, Outcome::OutOfMemory);
    assert_eq!(error_type, "Runtime.OutOfMemory");
    assert!(
        message.ends_with("Error: Runtime exited with error: out of memory"),
        "{message}"
    );
    assert!(
        reset,
        "the environment is reset after running out of memory"
    );

    // The same when it then reports a handled error of its own.
    let code = wat(
        &engine,
        "survivor-status.wat",
        r#"(module (@custom "lambda-sim-abi" "1") (memory (export "memory") 1)
            (func (export "handle") (result i32)
              (drop (memory.grow (i32.const 3200)))
              (i32.const 1)))"#,
    );
    let (outcome, error_type, _, reset) = invoke_once(&code);
    assert_eq!(
        (outcome, error_type.as_str(), reset),
        (Outcome::OutOfMemory, "Runtime.OutOfMemory", true)
    );
}

fn proc_exit(status: i32) -> String {
    format!(
        r#"(module (@custom "lambda-sim-abi" "1")
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "handle") (result i32) (call $exit (i32.const {status})) (i32.const 0)))"#
    )
}

#[test]
fn proc_exit_is_an_exit_error_with_its_status() {
    let engine = engine();
    let (outcome, error_type, message, reset) =
        invoke_once(&wat(&engine, "exit3.wat", &proc_exit(3)));
    assert_eq!(
        (outcome, error_type.as_str(), reset),
        (Outcome::Crash, "Runtime.ExitError", true)
    );
    assert!(message.starts_with("RequestId: "), "{message}");
    assert!(
        message.ends_with(" Error: Runtime exited with error: exit status 3"),
        "{message}"
    );
    assert!(!message.contains("wasm backtrace"), "{message}");

    let (outcome, error_type, message, _) = invoke_once(&wat(&engine, "exit0.wat", &proc_exit(0)));
    assert_eq!(
        (outcome, error_type.as_str()),
        (Outcome::Crash, "Runtime.ExitError")
    );
    assert!(
        message.ends_with(" Error: Runtime exited without providing a reason"),
        "{message}"
    );
}

#[test]
fn event_read_into_a_buffer_past_memory_traps_even_for_a_short_event() {
    let engine = engine();
    // The buffer starts 16 bytes before the end of the one-page memory and claims 4 KiB; the event ("{}") fits.
    let code = wat(
        &engine,
        "short-event.wat",
        r#"(module (@custom "lambda-sim-abi" "1")
            (import "lambda" "event_read" (func $read (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "handle") (result i32)
              (drop (call $read (i32.const 65520) (i32.const 4096)))
              (i32.const 0)))"#,
    );
    let (outcome, error_type, message, reset) = invoke_once(&code);
    assert_eq!(
        (outcome, error_type.as_str(), reset),
        (Outcome::Crash, "Runtime.ExitError", true)
    );
    assert!(
        message.contains(
            "lambda.event_read: range at pointer 0xfff0 with length 4096 is outside linear memory"
        ),
        "{message}"
    );

    // A buffer inside memory that is larger than the event is fine: it gets the event's bytes.
    let code = wat(
        &engine,
        "echo.wat",
        r#"(module (@custom "lambda-sim-abi" "1")
            (import "lambda" "event_read" (func $read (param i32 i32) (result i32)))
            (import "lambda" "response_write" (func $write (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "handle") (result i32)
              (drop (call $write (i32.const 0) (call $read (i32.const 0) (i32.const 4096))))
              (i32.const 0)))"#,
    );
    let (outcome, _, response, reset) = invoke_once(&code);
    assert_eq!(
        (outcome, response.as_str(), reset),
        (Outcome::Success, "{}", false)
    );
}
