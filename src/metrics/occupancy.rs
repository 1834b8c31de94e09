//! Time-averaged environments: the exact time integrals of the number of busy, idle and initializing execution
//! environments (on-demand and provisioned apart), and the time-weighted distribution of the number busy — the
//! headline figures of SimFaaS and of keep-alive studies (mean busy, mean idle, mean alive, utilisation).
//!
//! Exact, not sampled: every change of a pool's state closes the interval of the state before it, so the integral
//! of a state over [0, end] is Σ count × interval length, in integer nanoseconds.

use crate::model::PoolState;
use crate::report::{BusyShare, Occupancy};

/// Most distinct busy counts kept one by one; above it, the distribution's buckets widen so that it stays compact.
const MAX_BINS: usize = 256;

/// The running integrals of one pool (a function, or the total).
#[derive(Debug, Clone, Default)]
pub(crate) struct OccupancyMeter {
    /// The state since `since_ns`.
    state: PoolState,
    since_ns: u64,
    /// ∫ count dt (ns·environments) of: busy, idle, initializing — all, and provisioned only.
    busy: u128,
    idle: u128,
    initializing: u128,
    busy_provisioned: u128,
    idle_provisioned: u128,
    initializing_provisioned: u128,
    /// Time spent with n busy environments, in bins of `bin_width` (bin i: n in [i·w, (i+1)·w)).
    busy_time: Vec<u128>,
    bin_width: u32,
}

impl OccupancyMeter {
    pub(crate) fn new() -> Self {
        OccupancyMeter {
            bin_width: 1,
            ..Self::default()
        }
    }

    /// The pool is in `state` from `t_ns` on.
    #[inline]
    pub(crate) fn set(&mut self, t_ns: u64, state: PoolState) {
        self.close(t_ns);
        self.state = state;
    }

    /// Adds the current state's interval up to `t_ns`.
    fn close(&mut self, t_ns: u64) {
        let dt = u128::from(t_ns.saturating_sub(self.since_ns));
        self.since_ns = self.since_ns.max(t_ns);
        if dt == 0 {
            return;
        }
        let s = self.state;
        self.busy += dt * u128::from(s.busy);
        self.idle += dt * u128::from(s.idle);
        self.initializing += dt * u128::from(s.initializing);
        self.busy_provisioned += dt * u128::from(s.busy_provisioned);
        self.idle_provisioned += dt * u128::from(s.idle_provisioned);
        self.initializing_provisioned += dt * u128::from(s.initializing_provisioned);
        let mut bin = (s.busy / self.bin_width) as usize;
        while bin >= MAX_BINS {
            self.widen();
            bin = (s.busy / self.bin_width) as usize;
        }
        if self.busy_time.len() <= bin {
            self.busy_time.resize(bin + 1, 0);
        }
        self.busy_time[bin] += dt;
    }

    /// Doubles the bin width, merging pairs of bins.
    fn widen(&mut self) {
        let merged = self
            .busy_time
            .chunks(2)
            .map(|pair| pair.iter().sum())
            .collect();
        self.busy_time = merged;
        self.bin_width *= 2;
    }

    /// The means over [0, `end_ns`].
    pub(crate) fn report(&self, end_ns: u64) -> Occupancy {
        let mut m = self.clone();
        m.close(end_ns);
        let span = u128::from(end_ns.max(1));
        let mean = |integral: u128| integral as f64 / span as f64;
        let (busy, idle, init) = (mean(m.busy), mean(m.idle), mean(m.initializing));
        let (busy_pc, idle_pc, init_pc) = (
            mean(m.busy_provisioned),
            mean(m.idle_provisioned),
            mean(m.initializing_provisioned),
        );
        let alive = busy + idle + init;
        let covered: u128 = m.busy_time.iter().sum();
        let busy_distribution = m
            .busy_time
            .iter()
            .enumerate()
            .filter(|(_, t)| **t > 0)
            .map(|(i, t)| BusyShare {
                from: i as u32 * m.bin_width,
                to: (i as u32 + 1) * m.bin_width - 1,
                share: *t as f64 / covered.max(1) as f64,
            })
            .collect();
        Occupancy {
            mean_busy: busy,
            mean_idle: idle,
            mean_initializing: init,
            mean_alive: alive,
            mean_busy_provisioned: busy_pc,
            mean_idle_provisioned: idle_pc,
            mean_alive_provisioned: busy_pc + idle_pc + init_pc,
            utilisation: if alive > 0.0 { busy / alive } else { 0.0 },
            busy_distribution,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(busy: u32, idle: u32, busy_provisioned: u32, idle_provisioned: u32) -> PoolState {
        PoolState {
            busy,
            idle,
            busy_provisioned,
            idle_provisioned,
            ..PoolState::default()
        }
    }

    #[test]
    fn means_are_exact_time_integrals() {
        let mut m = OccupancyMeter::new();
        // 0–2 s: 1 busy, 1 idle; 2–3 s: 3 busy (1 provisioned), 0 idle; 3–4 s: nothing.
        m.set(0, st(1, 1, 0, 0));
        m.set(2_000_000_000, st(3, 0, 1, 0));
        m.set(3_000_000_000, st(0, 0, 0, 0));
        let o = m.report(4_000_000_000);
        assert_eq!(o.mean_busy, (2.0 * 1.0 + 1.0 * 3.0) / 4.0);
        assert_eq!(o.mean_idle, 2.0 / 4.0);
        assert_eq!(o.mean_alive, 7.0 / 4.0);
        assert_eq!(o.mean_busy_provisioned, 1.0 / 4.0);
        assert_eq!(o.mean_alive_provisioned, 1.0 / 4.0);
        assert_eq!(o.utilisation, 5.0 / 7.0);
        let shares: Vec<_> = o
            .busy_distribution
            .iter()
            .map(|b| (b.from, b.to, b.share))
            .collect();
        assert_eq!(shares, vec![(0, 0, 0.25), (1, 1, 0.5), (3, 3, 0.25)]);
    }

    #[test]
    fn many_busy_counts_widen_the_bins_and_keep_the_total() {
        let mut m = OccupancyMeter::new();
        for n in 0..1000u32 {
            m.set(u64::from(n) * 1_000, st(n, 0, 0, 0));
        }
        let o = m.report(1_000_000);
        assert!(o.busy_distribution.len() <= MAX_BINS);
        let total: f64 = o.busy_distribution.iter().map(|b| b.share).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert_eq!(o.busy_distribution[0].from, 0);
        assert_eq!(o.busy_distribution[0].to, 3);
        assert!((o.mean_busy - 499.5).abs() < 1e-9);
    }

    #[test]
    fn an_empty_run_reports_zeros() {
        let o = OccupancyMeter::new().report(0);
        assert_eq!((o.mean_busy, o.mean_alive, o.utilisation), (0.0, 0.0, 0.0));
    }
}
