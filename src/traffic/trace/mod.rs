//! Replaying a public trace (`[trace]`, see [`crate::scenario::TraceSpec`]): the arrival stream ([`TraceStream`])
//! the [`super::TrafficGenerator`] merges with the scenario's phases. The functions it replays were selected when
//! the scenario loaded (`crate::traces`).
//!
//! Bounded memory: neither pass holds the trace. The 2019 stream keeps the selected functions' nonzero per-minute
//! counts (sparse, bucketed by minute) and one minute of arrivals; the 2021 stream keeps the rows whose start lies
//! within [`crate::traces::REORDER_NS`] of the newest start read (a reorder heap). See `docs/traces.md`.

mod stream;

#[cfg(test)]
mod tests;

pub use stream::{TraceArrival, TraceStream};
