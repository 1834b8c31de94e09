//! Traffic: turns a scenario's phases into a time-ordered stream of requests (invocations, or messages sent to a
//! queue), seeded and deterministic.
//!
//! Open-loop phases are generated lazily (never all arrivals in memory); closed-loop virtual users issue their next
//! request only after the driver reports their previous response.

use bytes::Bytes;

use crate::scenario::{InvocationType, Target};

/// One request: invoke a function, or send a message to a queue.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub time_ns: u64,
    /// The function to invoke or the queue to send the payload to (as its body).
    pub target: Target,
    /// How a function is invoked (`RequestResponse` for a queue target).
    pub invocation: InvocationType,
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
pub mod trace;

#[cfg(test)]
mod tests;

pub use generator::TrafficGenerator;
