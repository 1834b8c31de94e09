//! The Lambda platform model: every rule of routing, concurrency, scaling, provisioned concurrency and keep-alive,
//! as a pure state machine (no wasmtime, no tokio, no clock: time is a number passed in).
//!
//! In the sans-IO style of quinn-proto: a driver calls [`Platform::invoke`], [`Platform::invocation_finished`],
//! [`Platform::sandbox_ready`], [`Platform::init_observed`] and [`Platform::timer`] with the current time, then drains
//! [`Platform::poll_action`] and carries the actions out (run a handler, create or drop a sandbox, set a timer).
//! Both the virtual-time and the real-time driver use it, so they cannot disagree about a rule.

pub mod events;
pub mod keepalive;
mod platform;
mod pool;
mod scaling;
pub mod services;
mod types;

#[cfg(test)]
mod tests;

pub use keepalive::KeepAliveStats;
pub use platform::{
    Action, ConfigError, FunctionRules, Platform, ProvisionedStatus, RequestToken, Timer,
};
pub use scaling::TokenBucket;
pub use types::*;
