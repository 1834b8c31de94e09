//! The export-generating macros: `handler!` and `handler_bytes!` wire a handler (and optionally an init function) to
//! the `handle` / `init` exports of the ABI and emit the `lambda-sim-abi` version section.
//!
//! The version section is emitted by the macro, i.e. in the handler's own crate, rather than as a static inside the
//! SDK: a `#[used]` static in a dependency's object file is only linked if something else pulls that object in, and
//! wasm-ld concatenates same-named custom sections, so two copies would read as version "11". The macro can only be
//! invoked once per module (a second `handle` export would not link), which makes "exactly one section" hold by
//! construction.

/// Generates the exports of a handler module whose handler takes and returns JSON via serde.
///
/// ```
/// use lambda_sim_sdk::{Context, Error};
///
/// fn my_init() -> Result<(), Error> {
///     Ok(())
/// }
///
/// fn my_handler(event: serde_json::Value, _ctx: &Context) -> Result<serde_json::Value, Error> {
///     Ok(event)
/// }
///
/// lambda_sim_sdk::handler!(my_handler, init = my_init); // or: handler!(my_handler);
/// ```
///
/// - `my_handler: fn(E, &Context) -> Result<R, Error>` with `E: DeserializeOwned`, `R: Serialize` (see
///   [`crate::run`] for the decoding rules);
/// - `my_init: fn() -> Result<(), Error>`, run once per sandbox before the first invocation (see
///   [`crate::run_init`]).
///
/// Expands to `pub extern "C" fn` exports named `handle` (and optionally `init`) of type `() -> i32`, and the
/// `lambda-sim-abi` custom section, inside an anonymous `const` block so no names leak into the crate. Use it once,
/// in a `cdylib` crate built for `wasm32-wasip1`.
#[macro_export]
macro_rules! handler {
    ($handler:expr, init = $init:expr $(,)?) => {
        $crate::__lambda_sim_exports!($crate::run($handler), $init);
    };
    ($handler:expr $(,)?) => {
        $crate::__lambda_sim_exports!($crate::run($handler));
    };
}

/// Like [`handler!`], for a raw-bytes handler that parses nothing:
/// `fn(Vec<u8>, &Context) -> Result<R, Error>` with `R: AsRef<[u8]>` (the event's bytes in, the response's bytes
/// out; see [`crate::run_bytes`]).
///
/// ```
/// fn echo(event: Vec<u8>, _ctx: &lambda_sim_sdk::Context) -> Result<Vec<u8>, lambda_sim_sdk::Error> {
///     Ok(event)
/// }
///
/// lambda_sim_sdk::handler_bytes!(echo); // or: handler_bytes!(echo, init = my_init);
/// ```
#[macro_export]
macro_rules! handler_bytes {
    ($handler:expr, init = $init:expr $(,)?) => {
        $crate::__lambda_sim_exports!($crate::run_bytes($handler), $init);
    };
    ($handler:expr $(,)?) => {
        $crate::__lambda_sim_exports!($crate::run_bytes($handler));
    };
}

/// Implementation detail of [`handler!`] and [`handler_bytes!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __lambda_sim_exports {
    ($handle:expr $(, $init:expr)?) => {
        const _: () = {
            /// ABI version declaration (docs/abi.md, "Version").
            #[unsafe(link_section = "lambda-sim-abi")]
            #[used]
            static LAMBDA_SIM_ABI: [u8; 1] = $crate::__ABI_SECTION;

            /// The `handle` export: one invocation. (Named apart from its export so that a user function
            /// called `handle` or `init` is not shadowed inside this block.)
            #[unsafe(export_name = "handle")]
            pub extern "C" fn __lambda_sim_handle() -> i32 {
                $handle
            }

            $(
                /// The `init` export: once per sandbox, before the first invocation.
                #[unsafe(export_name = "init")]
                pub extern "C" fn __lambda_sim_init() -> i32 {
                    $crate::run_init($init)
                }
            )?
        };
    };
}
