//! Guest-side SDK for lambda-sim handler modules.
//!
//! A lambda-sim handler is a core WebAssembly module (built for `wasm32-wasip1` as a `cdylib`) that talks to the
//! host through the small `lambda` import module described in `docs/abi.md`. This crate wraps that ABI:
//!
//! - [`handler!`] / [`handler_bytes!`] generate the `handle` (and optional `init`) exports and the
//!   `lambda-sim-abi` custom section that declares ABI version 2;
//! - [`Context`] gives the handler its request id, remaining time and simulated downstream waits;
//! - [`Error`] is the handled-error type reported to the host as `errorType` / `errorMessage`;
//! - [`service`] calls the scenario's simulated downstream services (`[[service]]`) by name;
//! - [`sqs`] has typed SQS events and partial batch responses for functions behind an SQS event source mapping;
//! - [`run`], [`run_bytes`] and [`run_init`] are the glue the macros call, usable directly when writing exports by
//!   hand (or in native unit tests with [`testing`]).
//!
//! ```
//! use lambda_sim_sdk::{Context, Error};
//!
//! #[derive(serde::Deserialize)]
//! struct Event { name: String }
//!
//! fn greet(event: Event, _ctx: &Context) -> Result<String, Error> {
//!     Ok(format!("Hello, {}!", event.name))
//! }
//!
//! lambda_sim_sdk::handler!(greet);
//! ```
//!
//! All `unsafe` code lives in the private `ffi` module. On targets other than `wasm32` the host imports are replaced
//! by an in-process stand-in so that handler crates build, lint and unit-test natively.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod context;
mod error;
#[allow(unsafe_code)]
mod ffi;
mod macros;
mod runtime;
pub mod service;
pub mod sqs;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use context::{Context, remaining_time, wait};
pub use error::Error;
pub use runtime::{run, run_bytes, run_init};

/// The handler ABI version this SDK implements (the contents of the `lambda-sim-abi` custom section).
pub const ABI_VERSION: u32 = 2;

/// Contents of the `lambda-sim-abi` custom section, emitted by [`handler!`] / [`handler_bytes!`]. Must stay in
/// step with [`ABI_VERSION`].
#[doc(hidden)]
pub const __ABI_SECTION: [u8; 1] = *b"2";
