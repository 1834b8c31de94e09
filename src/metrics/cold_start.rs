//! A cold start taken apart: the pieces of its latency on the request path — placement, code download, the Init
//! phase (the runtime's start-up, then the function's init code) or a snapshot restore, and the invocation — each
//! as its own histogram, so a report shows which piece a mitigation attacks (provisioned concurrency removes them
//! all from the path, a snapshot replaces init with a restore, a smaller package shortens the download).
//!
//! In virtual time the pieces of one cold start add up to its latency exactly: placement + download + (init or
//! restore) + invocation.

use super::histograms::Series;
use super::{InvocationSample, StartKind};
use crate::report::ColdStartSummary;

/// The pieces of a cold start the model decided and the lifecycle measured, ns (all zero for a warm start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ColdStartParts {
    /// Placement and microVM boot (modelled).
    pub placement_ns: u64,
    /// Code download: the deployment package at the function's bandwidth (modelled).
    pub download_ns: u64,
    /// The runtime's start-up within Init Duration (a `runtime` preset; 0 for a restore or no preset).
    pub runtime_ns: u64,
}

/// One histogram per piece, over the cold starts of a function (or of the total).
#[derive(Debug, Clone)]
pub(crate) struct ColdStartSeries {
    placement: Series,
    download: Series,
    runtime: Series,
    function_init: Series,
    invocation: Series,
}

impl ColdStartSeries {
    pub(crate) fn new() -> Self {
        let nanos = Series::nanos;
        ColdStartSeries {
            placement: nanos(),
            download: nanos(),
            runtime: nanos(),
            function_init: nanos(),
            invocation: nanos(),
        }
    }

    /// Records a cold start's pieces (nothing for a warm or provisioned start). Init's two parts only when the
    /// Init phase ran before the invocation (a failed init is retried inside it, and has no Init Duration).
    #[inline]
    pub(crate) fn record(&mut self, s: &InvocationSample) {
        if s.start != StartKind::Cold {
            return;
        }
        let p = s.parts.as_deref().copied().unwrap_or_default();
        self.placement.record(p.placement_ns);
        self.download.record(p.download_ns);
        if let Some(init) = s.init_ns {
            self.runtime.record(p.runtime_ns);
            self.function_init.record(init.saturating_sub(p.runtime_ns));
        }
        self.invocation.record(s.duration_ns);
    }

    pub(crate) fn merge(&mut self, o: &ColdStartSeries) {
        self.placement.merge(&o.placement);
        self.download.merge(&o.download);
        self.runtime.merge(&o.runtime);
        self.function_init.merge(&o.function_init);
        self.invocation.merge(&o.invocation);
    }

    pub(crate) fn summary(&self) -> ColdStartSummary {
        ColdStartSummary {
            placement: self.placement.percentiles(),
            download: self.download.percentiles(),
            runtime: self.runtime.percentiles(),
            function_init: self.function_init.percentiles(),
            invocation: self.invocation.percentiles(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;

    const MS: u64 = 1_000_000;

    fn cold(parts: ColdStartParts, init_ns: Option<u64>, duration_ns: u64) -> InvocationSample {
        let total = parts.placement_ns + parts.download_ns;
        InvocationSample {
            arrival_ns: 0,
            end_ns: total + init_ns.unwrap_or(0) + duration_ns,
            start: StartKind::Cold,
            parts: Some(Box::new(parts)),
            init_ns,
            restore_ns: None,
            duration_ns,
            billed_ms: 1,
            outcome: Outcome::Success,
            error_type: None,
            peak_memory_bytes: 0,
        }
    }

    #[test]
    fn pieces_of_cold_starts_only() {
        let mut c = ColdStartSeries::new();
        let parts = ColdStartParts {
            placement_ns: 90 * MS,
            download_ns: 2 * MS,
            runtime_ns: 16 * MS,
        };
        c.record(&cold(parts, Some(66 * MS), 5 * MS));
        c.record(&cold(parts, None, 7 * MS)); // init failed and ran inside the invocation
        let mut warm = cold(ColdStartParts::default(), None, 3 * MS);
        warm.start = StartKind::Warm;
        c.record(&warm);
        let s = c.summary();
        assert_eq!((s.placement.count, s.placement.max), (2, 90.0));
        assert_eq!((s.download.count, s.download.max), (2, 2.0));
        assert_eq!((s.runtime.count, s.runtime.max), (1, 16.0));
        assert_eq!((s.function_init.count, s.function_init.max), (1, 50.0));
        assert_eq!((s.invocation.count, s.invocation.mean), (2, 6.0));
    }
}
