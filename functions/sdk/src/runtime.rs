//! The glue between the generated exports and a handler function: reads the event, decodes it, calls the handler,
//! writes the response or reports the error, and returns the ABI status code. Also installs the panic hook.

use std::io::Write as _;
use std::sync::Once;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Context, Error, ffi};

/// Status code for a successful call.
const OK: i32 = 0;
/// Status code for a handled failure (always returned after reporting the error through the `error` import).
const FAILED: i32 = 1;

/// Runs a typed handler for one invocation and returns the `handle` status code.
///
/// The event is decoded from JSON into `E` (a failure is reported as `Runtime.UnmarshalError`); an empty event is
/// decoded as `null` if `E` accepts it, otherwise as `{}`. The handler's `Ok` value is encoded with `serde_json`
/// as the response (a failure is reported as `Runtime.MarshalError`); its `Err` is reported as is.
pub fn run<E, R, F>(handler: F) -> i32
where
    E: DeserializeOwned,
    R: Serialize,
    F: FnOnce(E, &Context) -> Result<R, Error>,
{
    install_panic_hook();
    let context = Context::current();
    let result = decode_event::<E>(&ffi::event())
        .and_then(|event| handler(event, &context))
        .and_then(|response| {
            serde_json::to_vec(&response).map_err(|e| {
                Error::new(
                    "Runtime.MarshalError",
                    format!("Unable to marshal response: {e}"),
                )
            })
        });
    finish(result)
}

/// Runs a raw-bytes handler for one invocation and returns the `handle` status code: the handler gets the event's
/// bytes unparsed and its `Ok` bytes are the response as they are (empty means a `null` response).
pub fn run_bytes<R, F>(handler: F) -> i32
where
    R: AsRef<[u8]>,
    F: FnOnce(Vec<u8>, &Context) -> Result<R, Error>,
{
    install_panic_hook();
    let context = Context::current();
    let result = handler(ffi::event(), &context);
    finish(result)
}

/// Runs an `init` function once per sandbox and returns the `init` status code. An `Err` is reported as is and
/// makes the host discard the sandbox (as on Lambda).
pub fn run_init<F>(init: F) -> i32
where
    F: FnOnce() -> Result<(), Error>,
{
    install_panic_hook();
    let result = init();
    flush_stdout();
    match result {
        Ok(()) => OK,
        Err(error) => fail(&error),
    }
}

/// Decodes the event JSON into `E`, mapping failures to `Runtime.UnmarshalError`.
fn decode_event<E: DeserializeOwned>(event: &[u8]) -> Result<E, Error> {
    let result = if event.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice(b"null").or_else(|_| serde_json::from_slice(b"{}"))
    } else {
        serde_json::from_slice(event)
    };
    result.map_err(|e| {
        Error::new(
            "Runtime.UnmarshalError",
            format!("Unable to unmarshal input: {e}"),
        )
    })
}

/// Writes the response or reports the error, flushes stdout and returns the status code.
fn finish<R: AsRef<[u8]>>(result: Result<R, Error>) -> i32 {
    let status = match result {
        // A refused write (response over 6 MB) is turned into Function.ResponseSizeTooLarge by the host itself.
        Ok(response) => {
            ffi::response_write(response.as_ref());
            OK
        }
        Err(error) => fail(&error),
    };
    flush_stdout();
    status
}

fn fail(error: &Error) -> i32 {
    ffi::report_error(&error.error_type, &error.message);
    FAILED
}

/// Flushes stdout so that a line printed without a trailing newline lands in this call's log, not a later one's.
fn flush_stdout() {
    let _ = std::io::stdout().flush();
}

/// Installs (once per sandbox) a panic hook that writes the panic message and location to stderr, i.e. to the
/// function's log, before `panic = "abort"` turns the panic into a trap.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("Box<dyn Any>");
            let location = info
                .location()
                .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            // stderr first: flushing stdout can itself panic if the panic happened inside a `print!`.
            let _ = writeln!(
                std::io::stderr(),
                "[lambda-sim-sdk] panicked{location}: {message}"
            );
            let _ = std::io::stdout().flush();
        }));
    });
}

// Native only: the tests run against the SDK's stand-in host (`lambda_sim_sdk::testing`).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::testing;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Named {
        #[serde(default = "world")]
        name: String,
    }

    fn world() -> String {
        "world".into()
    }

    fn greet(event: Named, ctx: &Context) -> Result<serde_json::Value, Error> {
        if event.name.is_empty() {
            return Err(Error::new("ValidationError", "name is empty"));
        }
        Ok(serde_json::json!({ "hello": event.name, "request": ctx.request_id() }))
    }

    #[test]
    fn typed_handler_round_trip() {
        let inv = testing::invoke(br#"{"name":"x"}"#, || run(greet));
        assert_eq!(inv.status, 0);
        assert_eq!(inv.error, None);
        assert_eq!(
            inv.json().unwrap(),
            serde_json::json!({"hello": "x", "request": testing::REQUEST_ID})
        );
    }

    #[test]
    fn empty_event_falls_back_to_an_empty_object() {
        let inv = testing::invoke(b"", || run(greet));
        assert_eq!(inv.json().unwrap()["hello"], "world");
        let inv = testing::invoke(b"", || run(|e: Option<u8>, _: &Context| Ok(e)));
        assert_eq!(inv.response, b"null");
    }

    #[test]
    fn handler_errors_are_reported() {
        let inv = testing::invoke(br#"{"name":""}"#, || run(greet));
        assert_eq!(inv.status, 1);
        assert_eq!(
            inv.error,
            Some(Error::new("ValidationError", "name is empty"))
        );
        assert!(inv.response.is_empty());
    }

    #[test]
    fn bad_json_is_an_unmarshal_error() {
        let inv = testing::invoke(b"{not json", || run(greet));
        assert_eq!(inv.status, 1);
        let error = inv.error.unwrap();
        assert_eq!(error.error_type, "Runtime.UnmarshalError");
        assert!(
            error.message.starts_with("Unable to unmarshal input: "),
            "{}",
            error.message
        );
    }

    #[test]
    fn bytes_handler_and_wait() {
        let inv = testing::invoke(b"ping", || {
            run_bytes(|event, ctx| {
                ctx.wait(std::time::Duration::from_millis(20));
                Ok([event.as_slice(), b"-pong"].concat())
            })
        });
        assert_eq!(inv.status, 0);
        assert_eq!(inv.response, b"ping-pong");
        assert_eq!(inv.waited, std::time::Duration::from_millis(20));
    }

    #[test]
    fn init_errors_are_reported() {
        let inv = testing::init(|| run_init(|| Err(Error::msg("no config"))));
        assert_eq!(inv.status, 1);
        assert_eq!(inv.error, Some(Error::msg("no config")));
        let inv = testing::init(|| run_init(|| Ok(())));
        assert_eq!((inv.status, inv.error), (0, None));
    }
}
