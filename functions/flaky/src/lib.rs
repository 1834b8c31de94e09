//! `flaky`: a handler that fails a configurable fraction of its invocations — for async retries, on-failure
//! destinations and dead-letter queues.
//!
//! Each invocation first waits `work_ms` (a simulated downstream call), then draws a number `u` uniformly in [0, 1)
//! and fails when `u < fail_rate`. The draw comes from WASI `random_get`, which lambda-sim seeds per scenario and
//! sandbox, so runs are reproducible; and since every invocation draws afresh (nothing depends on the payload or the
//! request id), a retry of a failed event can succeed: with `fail_rate` p, an event fails all 3 attempts of an async
//! invoke with probability p³ (2.7 % at the default 30 %).
//!
//! Event: any JSON. If it is an object, these keys are read (all optional, others ignored):
//! `{"fail_rate": 0.3, "work_ms": 20}` — `fail_rate` in [0, 1] (default 0.3; 0 never fails, 1 always fails),
//! `work_ms` ≥ 0 (default 0, may be fractional).
//!
//! Success response: `{"ok": true, "draw": 0.7134, "fail_rate": 0.3, "work_ms": 20.0, "request_id": "…"}`.
//! Failure: a handled function error with `errorType` `"FlakyError"` and `errorMessage`
//! `"simulated failure: draw 0.1234 < fail_rate 0.3"`. A bad `fail_rate` or `work_ms` (wrong type or out of range)
//! fails with `errorType` `"ValidationError"` naming the key, the value and the allowed range.
//! Logs one line per invocation: `ok: draw 0.7134 >= fail_rate 0.3` or `failing: draw 0.1234 < fail_rate 0.3`.

use std::time::Duration;

use lambda_sim_sdk::{Context, Error};
use serde::Serialize;
use serde_json::Value;

/// `fail_rate` when the event does not set one.
const DEFAULT_FAIL_RATE: f64 = 0.3;

/// What the event asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Settings {
    fail_rate: f64,
    work_ms: f64,
}

impl Settings {
    /// Reads `fail_rate` and `work_ms` from an object event; any other event gives the defaults.
    fn from_event(event: &Value) -> Result<Self, Error> {
        let fail_rate = match event.get("fail_rate") {
            None | Some(Value::Null) => DEFAULT_FAIL_RATE,
            Some(value) => number_in(value, "fail_rate", 0.0, 1.0, "between 0 and 1")?,
        };
        let work_ms = match event.get("work_ms") {
            None | Some(Value::Null) => 0.0,
            // One day is far beyond any function timeout (15 min): the bound only rejects nonsense.
            Some(value) => number_in(value, "work_ms", 0.0, 86_400_000.0, "from 0 to 86400000")?,
        };
        Ok(Settings { fail_rate, work_ms })
    }
}

/// `value` as a number within `[min, max]`, or a `ValidationError` naming `key`, the value and the range.
fn number_in(value: &Value, key: &str, min: f64, max: f64, range: &str) -> Result<f64, Error> {
    match value.as_f64() {
        Some(x) if (min..=max).contains(&x) => Ok(x),
        _ => Err(Error::new(
            "ValidationError",
            format!("{key} must be a number {range}, got {value}"),
        )),
    }
}

/// A uniform draw in [0, 1) from WASI `random_get` (53 random bits, the precision of an `f64`).
fn draw() -> Result<f64, Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| Error::new("RandomError", e.to_string()))?;
    Ok(unit_interval(u64::from_le_bytes(bytes)))
}

/// Maps 64 random bits to [0, 1) using the top 53.
fn unit_interval(bits: u64) -> f64 {
    // 2^53 is exactly representable, and so is every integer below it: the result is < 1.
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The response of a successful invocation.
#[derive(Debug, Serialize)]
struct Response {
    ok: bool,
    draw: f64,
    fail_rate: f64,
    work_ms: f64,
    request_id: String,
}

/// The decision for one invocation, given its draw.
fn decide(settings: Settings, draw: f64, request_id: String) -> Result<Response, Error> {
    if draw < settings.fail_rate {
        println!("failing: draw {draw:.4} < fail_rate {}", settings.fail_rate);
        return Err(Error::new(
            "FlakyError",
            format!(
                "simulated failure: draw {draw:.4} < fail_rate {}",
                settings.fail_rate
            ),
        ));
    }
    println!("ok: draw {draw:.4} >= fail_rate {}", settings.fail_rate);
    Ok(Response {
        ok: true,
        draw,
        fail_rate: settings.fail_rate,
        work_ms: settings.work_ms,
        request_id,
    })
}

fn flaky(event: Value, ctx: &Context) -> Result<Response, Error> {
    let settings = Settings::from_event(&event)?;
    if settings.work_ms > 0.0 {
        ctx.wait(Duration::from_secs_f64(settings.work_ms / 1000.0));
    }
    decide(settings, draw()?, ctx.request_id())
}

lambda_sim_sdk::handler!(flaky);

// Native only: the tests run against the SDK's stand-in host (`lambda_sim_sdk::testing`). Native draws come from the
// OS, so the end-to-end tests use the rates 0 and 1, whose outcome does not depend on the draw.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use lambda_sim_sdk::{run, testing};
    use serde_json::json;

    #[test]
    fn rate_zero_never_fails_and_waits_work_ms() {
        for _ in 0..20 {
            let inv = testing::invoke(br#"{"fail_rate": 0, "work_ms": 12.5}"#, || run(flaky));
            assert_eq!(inv.status, 0, "{:?}", inv.error);
            assert_eq!(inv.waited, Duration::from_micros(12_500));
            let body = inv.json().unwrap();
            assert_eq!(body["ok"], true);
            assert_eq!(body["request_id"], testing::REQUEST_ID);
            assert!((0.0..1.0).contains(&body["draw"].as_f64().unwrap()));
        }
    }

    #[test]
    fn rate_one_always_fails_with_flaky_error() {
        for _ in 0..20 {
            let inv = testing::invoke(br#"{"fail_rate": 1}"#, || run(flaky));
            assert_eq!(inv.status, 1);
            let error = inv.error.unwrap();
            assert_eq!(error.error_type, "FlakyError");
            assert!(
                error.message.starts_with("simulated failure: draw 0."),
                "{}",
                error.message
            );
            assert!(
                error.message.ends_with("< fail_rate 1"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn the_default_rate_is_30_percent() {
        let defaults = Settings {
            fail_rate: 0.3,
            work_ms: 0.0,
        };
        for event in [
            json!({}),
            json!(null),
            json!("text"),
            json!([1, 2]),
            json!({"other": 1}),
        ] {
            assert_eq!(Settings::from_event(&event).unwrap(), defaults, "{event}");
        }
    }

    #[test]
    fn the_draw_decides() {
        let settings = Settings {
            fail_rate: 0.3,
            work_ms: 0.0,
        };
        let err = decide(settings, 0.2999, String::new()).unwrap_err();
        assert_eq!(err.error_type, "FlakyError");
        assert_eq!(
            err.message,
            "simulated failure: draw 0.2999 < fail_rate 0.3"
        );
        assert!(decide(settings, 0.3, String::new()).is_ok());
        assert!(decide(settings, 0.99, String::new()).is_ok());
    }

    #[test]
    fn unit_interval_covers_zero_to_below_one() {
        assert_eq!(unit_interval(0), 0.0);
        assert!(unit_interval(u64::MAX) < 1.0);
        assert_eq!(unit_interval(1 << 63), 0.5);
    }

    #[test]
    fn bad_settings_are_validation_errors() {
        for (event, needle) in [
            (
                r#"{"fail_rate": 1.5}"#,
                "fail_rate must be a number between 0 and 1, got 1.5",
            ),
            (
                r#"{"fail_rate": "high"}"#,
                "fail_rate must be a number between 0 and 1, got \"high\"",
            ),
            (
                r#"{"work_ms": -1}"#,
                "work_ms must be a number from 0 to 86400000, got -1",
            ),
        ] {
            let inv = testing::invoke(event.as_bytes(), || run(flaky));
            assert_eq!(inv.status, 1);
            let error = inv.error.unwrap();
            assert_eq!(error.error_type, "ValidationError");
            assert_eq!(error.message, needle);
        }
    }
}
