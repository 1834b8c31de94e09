//! Interval histograms of end-to-end latency, for the HdrHistogram interval log (`.hlog`).
//!
//! An invocation is recorded in the interval containing its **end** time (when the response was ready, as load
//! generators log). Intervals start 1 s wide; there are never more than [`MAX_INTERVALS`] of them: when an
//! invocation would need interval number `MAX_INTERVALS`, the width doubles and adjacent pairs merge (as the
//! timeline does). So a 2-minute run gets per-second intervals and a day-long run 1024-second ones.
//!
//! Each interval's histogram is created when the first invocation ends in it (one allocation per interval per
//! function), auto-resizing, µs, 3 significant digits, sized from the largest latency seen so far so it rarely
//! needs to grow.

use hdrhistogram::Histogram;

use super::histograms::{MAX_LATENCY_US, SIGFIG};

/// Most intervals kept before doubling the interval width.
pub const MAX_INTERVALS: usize = 128;

const NS_PER_S: u64 = 1_000_000_000;

/// Runs of more functions than this keep interval histograms for the total only: each function's would cost up to
/// [`MAX_INTERVALS`] histograms (tens of KB each), too much for a replayed trace of thousands of functions.
pub const PER_FUNCTION_LIMIT: usize = 32;

#[derive(Debug, Clone)]
pub(crate) struct Intervals {
    /// Whether anything is recorded: a run of many functions keeps only the total's intervals (see
    /// [`PER_FUNCTION_LIMIT`]).
    enabled: bool,
    /// Interval width in seconds: a power of two.
    width_s: u64,
    slots: Vec<Option<Histogram<u64>>>,
    /// The last interval recorded into and its time range [start, end), ns: the fast path.
    last: usize,
    last_start_ns: u64,
    last_end_ns: u64,
}

impl Intervals {
    pub(crate) fn new() -> Self {
        Intervals {
            enabled: true,
            width_s: 1,
            slots: Vec::with_capacity(MAX_INTERVALS),
            last: 0,
            last_start_ns: 0,
            last_end_ns: 0,
        }
    }

    /// Intervals that record nothing (and report none).
    pub(crate) fn off() -> Self {
        Intervals {
            enabled: false,
            ..Self::new()
        }
    }

    pub(crate) fn width_ns(&self) -> u64 {
        self.width_s * NS_PER_S
    }

    fn index_of(&self, t_ns: u64) -> usize {
        (t_ns / NS_PER_S / self.width_s) as usize
    }

    /// Records `latency_us` for an invocation that ended at `end_ns`; `size_hint_us` is the largest latency
    /// seen so far (sizes a new interval's histogram).
    #[inline]
    pub(crate) fn record(&mut self, end_ns: u64, latency_us: u64, size_hint_us: u64) {
        if !self.enabled {
            return;
        }
        let idx = if end_ns >= self.last_start_ns && end_ns < self.last_end_ns {
            self.last
        } else {
            self.locate(end_ns, size_hint_us)
        };
        if let Some(h) = &mut self.slots[idx] {
            // Auto-resizing up to the cap: cannot fail.
            let _ = h.record(latency_us.min(MAX_LATENCY_US));
        }
    }

    /// Finds (creating, coarsening as needed) the interval of `t_ns` and makes it the fast-path one.
    #[cold]
    fn locate(&mut self, t_ns: u64, size_hint_us: u64) -> usize {
        let mut idx = self.index_of(t_ns);
        while idx >= MAX_INTERVALS {
            self.coarsen();
            idx = self.index_of(t_ns);
        }
        if self.slots.len() <= idx {
            self.slots.resize_with(idx + 1, || None);
        }
        self.slots[idx].get_or_insert_with(|| {
            let high = size_hint_us.clamp(2, MAX_LATENCY_US);
            let mut h =
                Histogram::new_with_bounds(1, high, SIGFIG).expect("valid histogram bounds");
            h.auto(true);
            h
        });
        let w = self.width_ns();
        self.last = idx;
        self.last_start_ns = idx as u64 * w;
        self.last_end_ns = self.last_start_ns.saturating_add(w);
        idx
    }

    fn coarsen(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let mut it = old.into_iter();
        while let Some(first) = it.next() {
            let second = it.next().flatten();
            let merged = match (first, second) {
                (Some(mut a), Some(b)) => {
                    let _ = a.add(&b); // auto-resizing: cannot fail
                    Some(a)
                }
                (a, b) => a.or(b),
            };
            self.slots.push(merged);
        }
        self.width_s *= 2;
        // Invalidate the fast path (indices and ranges changed).
        self.last_start_ns = 0;
        self.last_end_ns = 0;
    }

    /// Coarsens until the interval width is at least `width_ns`.
    pub(crate) fn coarsen_to(&mut self, width_ns: u64) {
        while self.width_ns() < width_ns {
            self.coarsen();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The histograms, padded with `None` to `len` intervals.
    pub(crate) fn into_slots(mut self, len: usize) -> Vec<Option<Histogram<u64>>> {
        if self.enabled && self.slots.len() < len {
            self.slots.resize_with(len, || None);
        }
        self.slots
    }
}

/// Sums per-function interval histograms (same width, same length) into the total's.
pub(crate) fn sum_slots(
    per_function: &[&[Option<Histogram<u64>>]],
    len: usize,
) -> Vec<Option<Histogram<u64>>> {
    (0..len)
        .map(|i| {
            let mut acc: Option<Histogram<u64>> = None;
            for slots in per_function {
                if let Some(Some(h)) = slots.get(i) {
                    match &mut acc {
                        Some(a) => {
                            let _ = a.add(h); // auto-resizing: cannot fail
                        }
                        None => acc = Some(h.clone()),
                    }
                }
            }
            acc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NS_PER_S;

    #[test]
    fn one_interval_per_second_then_coarser() {
        let mut iv = Intervals::new();
        for s in 0..MAX_INTERVALS as u64 {
            iv.record(s * S + 1, 1000 + s, 1000);
        }
        assert_eq!((iv.width_ns(), iv.len()), (S, MAX_INTERVALS));
        iv.record(MAX_INTERVALS as u64 * S, 5_000_000, 1_000_000); // forces a doubling
        assert_eq!(iv.width_ns(), 2 * S);
        let slots = iv.into_slots(0);
        assert_eq!(slots.len(), MAX_INTERVALS / 2 + 1);
        assert!(
            slots[..MAX_INTERVALS / 2]
                .iter()
                .all(|h| h.as_ref().unwrap().len() == 2)
        );
        let last = slots[MAX_INTERVALS / 2].as_ref().unwrap();
        assert_eq!(last.len(), 1);
        assert!(last.equivalent(last.max(), 5_000_000));
    }

    #[test]
    fn empty_intervals_stay_unallocated_and_sum() {
        let mut a = Intervals::new();
        let mut b = Intervals::new();
        a.record(0, 10, 10);
        a.record(3 * S, 20, 20);
        b.record(3 * S + 5, 30_000, 10);
        b.coarsen_to(2 * S);
        a.coarsen_to(2 * S);
        let (sa, sb) = (a.into_slots(2), b.into_slots(2));
        assert!(sb[0].is_none());
        let total = sum_slots(&[&sa, &sb], 2);
        assert_eq!(total[0].as_ref().unwrap().len(), 1);
        assert_eq!(total[1].as_ref().unwrap().len(), 2);
        assert!(total[1].as_ref().unwrap().max() >= 30_000);
    }
}
