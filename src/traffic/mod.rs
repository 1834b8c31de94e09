//! Traffic: turns a scenario's phases into a time-ordered stream of invocation requests, seeded and deterministic.
//!
//! Open-loop phases are generated lazily (never all arrivals in memory); closed-loop virtual users issue their next
//! request only after the driver reports their previous response.

use bytes::Bytes;

/// One request to invoke a function.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub time_ns: u64,
    /// Index into `Scenario::functions`.
    pub function: usize,
    pub payload: Bytes,
    /// For closed-loop phases: the virtual user that sent it (to pass back to `on_response`).
    pub user: Option<UserId>,
    /// A warmer's ping, not real traffic.
    pub ping: bool,
}

/// A closed-loop virtual user: (phase index, user number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId {
    pub phase: u32,
    pub user: u32,
}

mod generator;
mod payload;
mod process;
mod replay;

#[cfg(test)]
mod tests;

pub use generator::TrafficGenerator;
