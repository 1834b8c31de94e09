//! Public traces of serverless workloads (the Azure Functions 2019 and 2021 traces): streaming readers of their
//! files ([`azure`]) and the first pass that selects which of their functions to replay ([`select_2019`],
//! [`select_2021`]), run while a scenario loads. Below the scenario layer: nothing here knows scenarios; the
//! arrival stream that replays a selection is in `crate::traffic`.
//!
//! Bounded memory: no pass holds a trace. See `docs/traces.md`.

pub mod azure;
mod duration;
mod select;

pub use duration::{draw_duration_ms, payload};
pub use select::{Pass, Selected, check_order, replay_start, select_2019, select_2021};

use crate::limits::NS_PER_S;

/// Lambda's longest invocation: longer trace rows are replayed as this long (2021), longer draws are cut (2019).
pub const MAX_DURATION_NS: u64 = 900 * NS_PER_S;

/// How far (in trace time) a 2021 row's start may lie before the newest start read above it: the longest duration
/// ([`MAX_DURATION_NS`]) plus 60 s of slack for a file only roughly ordered by end time. It is also how long the
/// reorder heap holds a row before emitting it.
pub const REORDER_NS: u64 = MAX_DURATION_NS + 60 * NS_PER_S;

/// Which trace functions to replay (checked values of `[trace]`).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// 2019: keep functions with one of these triggers (all when empty).
    pub triggers: Vec<azure::Trigger>,
    /// Keep functions whose app hash starts with one of these (all when empty).
    pub apps: Vec<String>,
    /// 2019: keep functions whose owner hash starts with one of these (all when empty).
    pub owners: Vec<String>,
    /// Keep the N functions with the most invocations in the window.
    pub top: Option<usize>,
    /// Then a seeded uniform sample of N of them.
    pub sample: Option<usize>,
    pub seed: u64,
    /// The window of trace time, `[start, end)`, ns.
    pub window_start_ns: u64,
    pub window_end_ns: u64,
}

impl Filters {
    fn keeps_app(&self, app: &str) -> bool {
        self.apps.is_empty() || self.apps.iter().any(|p| app.starts_with(p.as_str()))
    }

    fn keeps_owner(&self, owner: &str) -> bool {
        self.owners.is_empty() || self.owners.iter().any(|p| owner.starts_with(p.as_str()))
    }
}

/// `(trace time − window start) / speedup`: the simulated time of a trace instant in the window. Monotonic, so
/// sorted trace times stay sorted.
pub fn simulated_ns(trace_ns: u64, window_start_ns: u64, speedup: f64) -> u64 {
    let d = trace_ns.saturating_sub(window_start_ns);
    if speedup == 1.0 {
        d
    } else {
        // Floor: an instant before the window's end maps before the simulated end (see the default duration).
        let x = (d as f64 / speedup).floor();
        if x >= u64::MAX as f64 {
            u64::MAX
        } else {
            x as u64
        }
    }
}
