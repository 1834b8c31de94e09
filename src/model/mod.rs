//! The Lambda platform model: every rule of routing, concurrency, scaling, provisioned concurrency and keep-alive,
//! as a pure state machine (no wasmtime, no tokio, no clock: time is a number passed in).

mod types;

pub use types::*;
