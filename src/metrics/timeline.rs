//! The per-second timeline of one function (or of all functions together).
//!
//! Buckets start one second wide. Each holds the arrivals, cold starts and throttles that started in it, the
//! highest concurrency (busy environments) reached in it, and the environments alive and idle at its end.
//!
//! - **Gaps**: when an event lands in a later second than the last bucket, the skipped seconds are filled by
//!   carrying the last pool state forward (their max concurrency is the busy count that held throughout).
//! - **Bounded memory**: a timeline never holds more than its maximum of buckets ([`MAX_BUCKETS`], or less in a
//!   run of many functions: see [`max_buckets`]). When an event would need bucket number `max`, the bucket width
//!   doubles and adjacent pairs merge (counts add, maxima max,
//!   end-of-bucket values from the later one); repeat as needed. Widths are always 2^k seconds and buckets stay
//!   aligned to multiples of the width, so the result does not depend on when coarsening happened.
//! - **Cost**: appending a bucket happens only when time crosses a bucket boundary; an event in the current
//!   bucket is a range check and an increment. Capacity is reserved up front for the scenario's duration.
//!
//! Times are expected to be nondecreasing for pool states; arrivals, cold starts and throttles at earlier times
//! are added to the (earlier) bucket they belong to.

use super::PoolState;
use crate::report::TimelineBucket;

/// Most buckets a timeline keeps before doubling the bucket width.
pub const MAX_BUCKETS: usize = 100_000;

/// Buckets all the timelines of one run may hold together (~80 MB): with many functions (a replayed trace of
/// thousands) each timeline gets a share, so memory does not grow with the number of functions times duration.
pub const RUN_BUCKET_BUDGET: usize = 2_000_000;

/// The most buckets each of `timelines` timelines of a run keeps: [`MAX_BUCKETS`], or its share of
/// [`RUN_BUCKET_BUDGET`] (at least 64).
pub fn max_buckets(timelines: usize) -> usize {
    (RUN_BUCKET_BUDGET / timelines.max(1)).clamp(64, MAX_BUCKETS)
}

const NS_PER_S: u64 = 1_000_000_000;

fn alive(s: &PoolState) -> u32 {
    s.busy.saturating_add(s.idle).saturating_add(s.initializing)
}

#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    /// Bucket width in seconds: a power of two.
    width_s: u64,
    /// Most buckets kept before the width doubles.
    max_buckets: usize,
    /// The last bucket is the open one (the latest time seen).
    buckets: Vec<TimelineBucket>,
    /// Time range of the open bucket, [start, end) in ns (empty before the first event).
    open_start_ns: u64,
    open_end_ns: u64,
    /// The latest pool state.
    state: PoolState,
}

impl Timeline {
    /// A timeline with room reserved for `expected_s` seconds.
    #[cfg(test)]
    pub(crate) fn new(expected_s: u64) -> Self {
        Self::with_max(expected_s, MAX_BUCKETS)
    }

    /// A timeline of at most `max_buckets` buckets (see [`max_buckets`]), with room reserved for `expected_s`
    /// seconds at most.
    pub(crate) fn with_max(expected_s: u64, max_buckets: usize) -> Self {
        let max_buckets = max_buckets.clamp(2, MAX_BUCKETS);
        let cap = usize::try_from(expected_s.saturating_add(2)).unwrap_or(max_buckets);
        Timeline {
            width_s: 1,
            max_buckets,
            buckets: Vec::with_capacity(cap.min(max_buckets)),
            open_start_ns: 0,
            open_end_ns: 0,
            state: PoolState::default(),
        }
    }

    pub(crate) fn width_ns(&self) -> u64 {
        self.width_s * NS_PER_S
    }

    pub(crate) fn state(&self) -> PoolState {
        self.state
    }

    fn index_of(&self, t_ns: u64) -> usize {
        (t_ns / NS_PER_S / self.width_s) as usize
    }

    /// A new bucket after the open one: the current state carried forward.
    fn carried(&self) -> TimelineBucket {
        TimelineBucket {
            max_concurrency: self.state.busy,
            alive: alive(&self.state),
            idle: self.state.idle,
            ..TimelineBucket::default()
        }
    }

    fn refresh_open_range(&mut self) {
        let w = self.width_ns();
        let n = self.buckets.len() as u64;
        self.open_start_ns = (n.saturating_sub(1)).saturating_mul(w);
        self.open_end_ns = n.saturating_mul(w);
    }

    /// Makes sure the bucket of `t_ns` exists (filling and coarsening as needed); returns its index.
    #[inline]
    fn advance(&mut self, t_ns: u64) -> usize {
        if t_ns >= self.open_start_ns && t_ns < self.open_end_ns {
            return self.buckets.len() - 1;
        }
        self.advance_slow(t_ns)
    }

    #[cold]
    fn advance_slow(&mut self, t_ns: u64) -> usize {
        let mut idx = self.index_of(t_ns);
        if idx < self.buckets.len() {
            return idx; // an earlier bucket
        }
        while idx >= self.max_buckets {
            self.coarsen();
            idx = self.index_of(t_ns);
        }
        while self.buckets.len() <= idx {
            let b = self.carried();
            self.buckets.push(b);
        }
        self.refresh_open_range();
        idx
    }

    /// Doubles the bucket width, merging adjacent pairs.
    fn coarsen(&mut self) {
        let n = self.buckets.len();
        let mut w = 0;
        let mut r = 0;
        while r < n {
            let mut b = self.buckets[r];
            if r + 1 < n {
                b.absorb_later(&self.buckets[r + 1]);
            }
            self.buckets[w] = b;
            w += 1;
            r += 2;
        }
        self.buckets.truncate(w);
        self.width_s *= 2;
        self.refresh_open_range();
    }

    /// Coarsens until the bucket width is at least `width_ns` (a power-of-two number of seconds).
    pub(crate) fn coarsen_to(&mut self, width_ns: u64) {
        while self.width_ns() < width_ns {
            self.coarsen();
        }
    }

    /// The bucket holding `t_ns`, for counting something that started then.
    #[inline]
    pub(crate) fn bucket_mut(&mut self, t_ns: u64) -> &mut TimelineBucket {
        let i = self.advance(t_ns);
        &mut self.buckets[i]
    }

    /// The pool changed at `t_ns` (the latest time seen, or later).
    #[inline]
    pub(crate) fn set_state(&mut self, t_ns: u64, s: PoolState) {
        self.advance(t_ns);
        self.state = s;
        let b = self.buckets.last_mut().expect("advance made a bucket");
        b.max_concurrency = b.max_concurrency.max(s.busy);
        b.alive = alive(&s);
        b.idle = s.idle;
    }

    /// Fills up to the bucket containing `t_ns` (no event); used to extend the timeline to the run's end.
    pub(crate) fn extend_to(&mut self, t_ns: u64) {
        self.advance(t_ns);
    }

    /// Drops trailing buckets after the one containing `t_ns` that counted nothing (no arrivals, cold starts or
    /// throttles): what is left there is end-of-run teardown, which the last real bucket should not show.
    pub(crate) fn trim_after(&mut self, t_ns: u64) {
        let keep = self.index_of(t_ns) + 1;
        while self.buckets.len() > keep {
            let b = self.buckets[self.buckets.len() - 1];
            if b.arrivals != 0 || b.cold_starts != 0 || b.throttles != 0 {
                break;
            }
            self.buckets.pop();
        }
        self.refresh_open_range();
    }

    /// Appends carried-forward buckets until there are `len`.
    pub(crate) fn pad_to(&mut self, len: usize) {
        while self.buckets.len() < len {
            let b = self.carried();
            self.buckets.push(b);
        }
        self.refresh_open_range();
    }

    pub(crate) fn len(&self) -> usize {
        self.buckets.len()
    }

    pub(crate) fn into_buckets(self) -> Vec<TimelineBucket> {
        self.buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NS_PER_S;

    fn st(busy: u32, idle: u32, initializing: u32) -> PoolState {
        PoolState {
            busy,
            idle,
            initializing,
            ..PoolState::default()
        }
    }

    #[test]
    fn counts_and_max_within_a_second() {
        let mut t = Timeline::new(10);
        t.bucket_mut(100).arrivals += 1;
        t.set_state(100, st(0, 0, 1));
        t.set_state(S / 2, st(1, 0, 0));
        t.set_state(S / 2 + 1, st(3, 0, 0));
        t.set_state(S - 1, st(0, 3, 0));
        t.bucket_mut(S - 1).throttles += 1;
        let b = t.into_buckets();
        assert_eq!(b.len(), 1);
        assert_eq!(
            b[0],
            TimelineBucket {
                arrivals: 1,
                cold_starts: 0,
                throttles: 1,
                pings: 0,
                max_concurrency: 3,
                alive: 3,
                idle: 3
            }
        );
    }

    #[test]
    fn gap_carries_the_last_state_forward() {
        let mut t = Timeline::new(10);
        t.set_state(0, st(2, 1, 0)); // second 0: 2 busy, 1 idle
        t.bucket_mut(0).arrivals += 2;
        t.set_state(5 * S + 10, st(0, 3, 0)); // second 5: all idle
        t.bucket_mut(5 * S + 20).arrivals += 1;
        let b = t.into_buckets();
        assert_eq!(b.len(), 6);
        for (i, bucket) in b.iter().enumerate().take(5) {
            assert_eq!(bucket.alive, 3, "second {i}");
            assert_eq!(bucket.idle, 1, "second {i}");
            assert_eq!(bucket.max_concurrency, 2, "second {i}");
        }
        assert_eq!(b[0].arrivals, 2);
        assert!(b[1..5].iter().all(|x| x.arrivals == 0));
        // Second 5 started with 2 busy (carried), then all went idle.
        assert_eq!(
            (b[5].max_concurrency, b[5].alive, b[5].idle, b[5].arrivals),
            (2, 3, 3, 1)
        );
    }

    #[test]
    fn late_events_land_in_their_own_second() {
        let mut t = Timeline::new(10);
        t.set_state(3 * S, st(1, 0, 0));
        t.bucket_mut(S + 5).cold_starts += 1; // a cold start whose request arrived in second 1
        let b = t.into_buckets();
        assert_eq!(b.len(), 4);
        assert_eq!(b[1].cold_starts, 1);
        assert_eq!(b[3].max_concurrency, 1);
    }

    #[test]
    fn long_runs_coarsen_to_a_bounded_size() {
        let mut t = Timeline::new(0);
        for s in 0..(MAX_BUCKETS as u64) {
            t.bucket_mut(s * S).arrivals += 1;
        }
        t.set_state(50 * S, st(7, 0, 0)); // an earlier-time state lands in the latest bucket
        assert_eq!(t.len(), MAX_BUCKETS);
        // One more second: width doubles, pairs merge.
        t.bucket_mut(MAX_BUCKETS as u64 * S).arrivals += 1;
        assert_eq!(t.width_ns(), 2 * S);
        let b = t.into_buckets();
        assert_eq!(b.len(), MAX_BUCKETS / 2 + 1);
        assert!(b[..MAX_BUCKETS / 2].iter().all(|x| x.arrivals == 2));
        assert_eq!(b[MAX_BUCKETS / 2].arrivals, 1);
        assert_eq!(b[MAX_BUCKETS / 2 - 1].max_concurrency, 7);
        assert_eq!(
            b.iter().map(|x| x.arrivals).sum::<u64>(),
            MAX_BUCKETS as u64 + 1
        );
    }

    #[test]
    fn a_huge_gap_coarsens_before_filling() {
        let mut t = Timeline::new(0);
        t.set_state(0, st(1, 0, 0));
        let far = 1_000_000 * S; // ~11.6 days
        t.bucket_mut(far).arrivals += 1;
        assert!(t.len() <= MAX_BUCKETS);
        assert_eq!(t.width_ns(), 16 * S); // 1e6 / 16 = 62,500 < 100,000
        let b = t.into_buckets();
        assert_eq!(b.len(), 62_501);
        assert!(b.iter().all(|x| x.max_concurrency == 1 && x.alive == 1));
    }

    #[test]
    fn coarsening_is_independent_of_timing() {
        // Coarsening late (coarsen_to) equals coarsening as you go.
        let mut a = Timeline::new(0);
        let mut b = Timeline::new(0);
        for s in 0..9u64 {
            a.bucket_mut(s * S).arrivals += s;
            a.set_state(s * S + 1, st(s as u32, 1, 0));
            b.bucket_mut(s * S).arrivals += s;
            b.set_state(s * S + 1, st(s as u32, 1, 0));
            if s == 4 {
                b.coarsen_to(2 * S);
            }
        }
        a.coarsen_to(2 * S);
        assert_eq!(a.into_buckets(), b.into_buckets());
    }
}
