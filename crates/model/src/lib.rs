//! lambda-sim's pure model of AWS Lambda: every rule of routing, concurrency, scaling, provisioned concurrency,
//! keep-alive, async queues, SQS and downstream services, as state machines with no wasmtime, no tokio, no clock
//! and no file parsing — time is a number passed in. This crate's dependencies are the proof: it cannot reach any
//! of those.
//!
//! In the sans-IO style of quinn-proto: a driver calls [`Platform::invoke`], [`Platform::invocation_finished`],
//! [`Platform::sandbox_ready`], [`Platform::init_observed`] and [`Platform::timer`] with the current time, then drains
//! [`Platform::poll_action`] and carries the actions out (run a handler, create or drop a sandbox, set a timer).
//! Both the virtual-time and the real-time driver use it, so they cannot disagree about a rule.
//!
//! It also holds the vocabulary every other layer shares: [`Outcome`], [`RequestId`], [`ErrorBody`],
//! [`PoolState`], the identifiers and throttle reasons, the settings the rules read ([`spec`]), Lambda's fixed
//! [`limits`] and the [`cpu`] model that turns fuel into virtual time.

pub mod cold_start;
pub mod cpu;
pub mod events;
pub mod keepalive;
pub mod limits;
mod outcome;
mod platform;
mod pool;
pub mod runtime;
mod scaling;
pub mod services;
pub mod spec;
mod types;

#[cfg(test)]
mod tests;

pub use keepalive::KeepAliveStats;
pub use outcome::{ErrorBody, Outcome, RequestId};
pub use platform::{
    Action, ConfigError, EnvironmentStart, FunctionRules, Platform, ProvisionedStatus,
    RequestToken, Timer,
};
pub use scaling::{RequestRate, TokenBucket};
pub use spec::{
    Account, Distribution, KeepAlivePolicy, ScalingModel, ScalingRefill, TargetTracking,
};
pub use types::*;
