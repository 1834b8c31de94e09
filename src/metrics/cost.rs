//! Cost of a run in USD, from `docs/lambda.md` §7 (billing) and §8 (pricing, us-east-1, tier 1 only).
//!
//! - Requests: $0.20 per 1M invocations that ran; throttled requests are not billed.
//! - Duration: Billed Duration (1 ms granularity, cold-start init included) / 1000 × memory GB at the
//!   on-demand price; invocations on provisioned environments at the "duration while on PC" price.
//! - Provisioned capacity: provisioned concurrency × memory GB × the time from allocation start
//!   (`provisioned_allocation_delay_ns`) to the end of the run, rounded up to 5-minute increments.
//! - Provisioned init: each provisioned environment's init, rounded up to the ms, at the PC duration price.
//! - Snapshot restore (SnapStart, as priced for Python and .NET): the cache at $0.0000015046 per GB-s of the
//!   function's memory from deployment to the end of the run, billed for at least 3 hours (AWS's minimum: a run
//!   shorter than 3 h is charged as if the snapshot had been kept 3 h, as a version published and deleted within
//!   3 h would be); each restore at $0.0001397998 per GB of the function's memory. The same prices for both
//!   architectures (docs/lambda.md §8 lists one figure). Restore time is not billed as duration (§7).
//! - No free tier (1M requests + 400,000 GB-s a month on AWS; it does not apply to functions with PC).
//! - Idle GB-s (alive − busy) are reported for insight; they cost nothing on-demand and are covered by the
//!   capacity charge for provisioned environments.
//!
//! Usage is accumulated in integers (ms, ns) and converted to dollars once, at the end, so the same events
//! always give the same floats.

use crate::report::{Cost, FunctionConfig, GbSeconds};
use crate::scenario::Architecture;

/// Per-unit prices of one architecture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    /// USD per 1M requests.
    pub requests_per_million: f64,
    /// USD per GB-s of on-demand duration (tier 1).
    pub duration_gb_s: f64,
    /// USD per GB-s of configured provisioned concurrency.
    pub provisioned_capacity_gb_s: f64,
    /// USD per GB-s of duration on provisioned environments.
    pub provisioned_duration_gb_s: f64,
}

/// us-east-1, x86_64.
pub const X86_64_PRICES: Prices = Prices {
    requests_per_million: 0.20,
    duration_gb_s: 0.000_016_666_7,
    provisioned_capacity_gb_s: 0.000_004_166_7,
    provisioned_duration_gb_s: 0.000_009_722_2,
};

/// us-east-1, arm64.
pub const ARM64_PRICES: Prices = Prices {
    requests_per_million: 0.20,
    duration_gb_s: 0.000_013_333_4,
    provisioned_capacity_gb_s: 0.000_003_333_4,
    provisioned_duration_gb_s: 0.000_007_777_8,
};

impl Prices {
    pub fn of(architecture: Architecture) -> &'static Prices {
        match architecture {
            Architecture::X86_64 => &X86_64_PRICES,
            Architecture::Arm64 => &ARM64_PRICES,
        }
    }
}

/// SnapStart cache, USD per GB-s of the function's memory (docs/lambda.md §8).
pub const SNAPSHOT_CACHE_GB_S: f64 = 0.000_001_504_6;
/// SnapStart restore, USD per GB of the function's memory restored (docs/lambda.md §8).
pub const SNAPSHOT_RESTORE_GB: f64 = 0.000_139_799_8;
/// SnapStart's cache is billed for at least 3 hours.
pub const SNAPSHOT_CACHE_MIN_NS: u64 = 3 * 3600 * 1_000_000_000;

/// Provisioned concurrency is billed in increments of 5 minutes.
pub const PC_BILLING_INCREMENT_NS: u64 = 300 * 1_000_000_000;

/// What a function used, in integer units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Invocations that ran (billed requests).
    pub(crate) requests: u64,
    /// Σ Billed Duration of on-demand invocations (warm and cold), ms.
    pub(crate) on_demand_billed_ms: u64,
    /// Σ Billed Duration of invocations on provisioned environments, ms.
    pub(crate) provisioned_billed_ms: u64,
    /// Σ provisioned inits, each rounded up to the ms.
    pub(crate) provisioned_init_ms: u64,
    pub(crate) idle_on_demand_ns: u128,
    pub(crate) idle_provisioned_ns: u128,
    /// Cold starts restored from the function's snapshot.
    pub(crate) restores: u64,
}

/// Seconds of provisioned capacity billed: from allocation start to `end_ns`, rounded up to 5 minutes; 0
/// without provisioned concurrency or when the run ended before allocation started.
pub fn provisioned_capacity_seconds(cfg: &FunctionConfig, end_ns: u64) -> u64 {
    if cfg.provisioned_concurrency == 0 || end_ns <= cfg.provisioned_allocation_delay_ns {
        return 0;
    }
    let held = end_ns - cfg.provisioned_allocation_delay_ns;
    held.div_ceil(PC_BILLING_INCREMENT_NS) * (PC_BILLING_INCREMENT_NS / 1_000_000_000)
}

/// Seconds of snapshot cache billed for a run ending at `end_ns`: the run's duration, at least 3 hours; 0 without
/// a snapshot.
pub fn snapshot_cache_seconds(cfg: &FunctionConfig, end_ns: u64) -> f64 {
    if !cfg.snapshot {
        return 0.0;
    }
    end_ns.max(SNAPSHOT_CACHE_MIN_NS) as f64 / 1e9
}

/// Provisioned concurrency × seconds billed when the configuration changed during the run (scheduled actions,
/// target tracking): `changes` are (time, new count) in time order. The static configuration holds from its
/// allocation start until the first change; each stretch with provisioned concurrency enabled is rounded up to
/// 5 minutes at its last count.
pub fn provisioned_concurrency_seconds(
    cfg: &FunctionConfig,
    changes: &[(u64, u32)],
    end_ns: u64,
) -> f64 {
    let mut levels: Vec<(u64, u32)> = Vec::with_capacity(changes.len() + 1);
    if cfg.provisioned_concurrency > 0 {
        levels.push((
            cfg.provisioned_allocation_delay_ns,
            cfg.provisioned_concurrency,
        ));
    }
    for &(t, count) in changes {
        // A change supersedes whatever was planned after it (the static allocation not yet started).
        levels.retain(|&(at, _)| at <= t);
        levels.push((t, count));
    }
    let mut total_ns: u128 = 0;
    let mut span_start: Option<u64> = None;
    for (i, &(t, count)) in levels.iter().enumerate() {
        if t >= end_ns {
            break;
        }
        let until = levels
            .get(i + 1)
            .map_or(end_ns, |&(next, _)| next.min(end_ns));
        total_ns += u128::from(count) * u128::from(until.saturating_sub(t));
        if count > 0 && span_start.is_none() {
            span_start = Some(t);
        }
        let span_ends = count > 0
            && levels
                .get(i + 1)
                .is_none_or(|&(next, c)| c == 0 || next >= end_ns);
        if let (true, Some(start)) = (span_ends, span_start) {
            let held = until - start;
            let billed = held.div_ceil(PC_BILLING_INCREMENT_NS) * PC_BILLING_INCREMENT_NS;
            total_ns += u128::from(count) * u128::from(billed - held);
            span_start = None;
        }
        if count == 0 {
            span_start = None;
        }
    }
    total_ns as f64 / 1e9
}

/// GB-seconds and cost of one function over a run ending at `end_ns`, with static provisioned concurrency.
#[cfg(test)]
pub(crate) fn function_cost(cfg: &FunctionConfig, u: &Usage, end_ns: u64) -> (GbSeconds, Cost) {
    function_cost_with(cfg, u, &[], end_ns)
}

/// [`function_cost`] with the changes of provisioned concurrency during the run.
pub(crate) fn function_cost_with(
    cfg: &FunctionConfig,
    u: &Usage,
    provisioned_changes: &[(u64, u32)],
    end_ns: u64,
) -> (GbSeconds, Cost) {
    let gb = cfg.memory_mb as f64 / 1024.0;
    let ms_gb_s = |ms: u64| ms as f64 / 1000.0 * gb;
    let ns_gb_s = |ns: u128| ns as f64 / 1e9 * gb;
    let gb_s = GbSeconds {
        on_demand: ms_gb_s(u.on_demand_billed_ms),
        provisioned_invocations: ms_gb_s(u.provisioned_billed_ms),
        provisioned_init: ms_gb_s(u.provisioned_init_ms),
        provisioned_capacity: gb
            * provisioned_concurrency_seconds(cfg, provisioned_changes, end_ns),
        idle_on_demand: ns_gb_s(u.idle_on_demand_ns),
        idle_provisioned: ns_gb_s(u.idle_provisioned_ns),
        snapshot_cache: gb * snapshot_cache_seconds(cfg, end_ns),
        snapshot_restored_gb: u.restores as f64 * gb,
    };
    let p = Prices::of(cfg.architecture);
    let requests = u.requests as f64 * p.requests_per_million / 1e6;
    let duration = gb_s.on_demand * p.duration_gb_s;
    let provisioned_capacity = gb_s.provisioned_capacity * p.provisioned_capacity_gb_s;
    let provisioned_duration =
        (gb_s.provisioned_invocations + gb_s.provisioned_init) * p.provisioned_duration_gb_s;
    let snapshot_cache = gb_s.snapshot_cache * SNAPSHOT_CACHE_GB_S;
    let snapshot_restore = gb_s.snapshot_restored_gb * SNAPSHOT_RESTORE_GB;
    let cost = Cost {
        requests,
        duration,
        provisioned_capacity,
        provisioned_duration,
        snapshot_cache,
        snapshot_restore,
        total: requests
            + duration
            + provisioned_capacity
            + provisioned_duration
            + snapshot_cache
            + snapshot_restore,
    };
    (gb_s, cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn cfg(memory_mb: u64, architecture: Architecture, pc: u32, delay_ns: u64) -> FunctionConfig {
        FunctionConfig {
            name: "f".into(),
            memory_mb,
            architecture,
            reserved_concurrency: None,
            provisioned_concurrency: pc,
            provisioned_allocation_delay_ns: delay_ns,
            code_bytes: 0,
            snapshot: false,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn one_million_100ms_invocations_at_128mb_x86() {
        let u = Usage {
            requests: 1_000_000,
            on_demand_billed_ms: 100_000_000,
            ..Usage::default()
        };
        let (gb_s, c) = function_cost(&cfg(128, Architecture::X86_64, 0, 0), &u, 3600 * S);
        assert!(close(gb_s.on_demand, 12_500.0));
        assert!(close(c.requests, 0.20));
        assert!(close(c.duration, 12_500.0 * 0.0000166667));
        assert!(close(c.total, 0.40833375), "{}", c.total);
        assert_eq!((c.provisioned_capacity, c.provisioned_duration), (0.0, 0.0));
    }

    #[test]
    fn arm64_prices() {
        let u = Usage {
            requests: 1_000_000,
            on_demand_billed_ms: 100_000_000,
            ..Usage::default()
        };
        let (_, c) = function_cost(&cfg(128, Architecture::Arm64, 0, 0), &u, S);
        assert!(
            close(c.total, 0.20 + 12_500.0 * 0.0000133334),
            "{}",
            c.total
        );
    }

    #[test]
    fn provisioned_capacity_rounds_up_to_five_minutes() {
        // 10 × 1 GB allocated at 60 s; run ends at 61 s + 10 min → 10 min 1 s held → billed 15 min.
        let c = cfg(1024, Architecture::X86_64, 10, 60 * S);
        let end = 61 * S + 600 * S;
        assert_eq!(provisioned_capacity_seconds(&c, end), 900);
        assert_eq!(provisioned_capacity_seconds(&c, 60 * S + 300 * S), 300); // exactly 5 min
        assert_eq!(provisioned_capacity_seconds(&c, 60 * S + 1), 300);
        assert_eq!(provisioned_capacity_seconds(&c, 60 * S), 0); // ended before allocation
        assert_eq!(
            provisioned_capacity_seconds(&cfg(1024, Architecture::X86_64, 0, 0), end),
            0
        );

        let u = Usage {
            requests: 1000,
            provisioned_billed_ms: 50_000, // 1000 × 50 ms on PC
            provisioned_init_ms: 10 * 500, // 10 inits of 500 ms
            ..Usage::default()
        };
        let (gb_s, cost) = function_cost(&c, &u, end);
        assert!(close(gb_s.provisioned_capacity, 9000.0));
        assert!(close(cost.provisioned_capacity, 9000.0 * 0.0000041667));
        assert!(close(gb_s.provisioned_invocations, 50.0));
        assert!(close(gb_s.provisioned_init, 5.0));
        assert!(close(cost.provisioned_duration, 55.0 * 0.0000097222));
        assert!(close(cost.requests, 0.0002));
        assert_eq!(cost.duration, 0.0);
        let want = 0.0002 + 9000.0 * 0.0000041667 + 55.0 * 0.0000097222;
        assert!(close(cost.total, want), "{} vs {want}", cost.total);

        // arm64 PC prices.
        let (_, arm) = function_cost(&cfg(1024, Architecture::Arm64, 10, 60 * S), &u, end);
        let want = 0.0002 + 9000.0 * 0.0000033334 + 55.0 * 0.0000077778;
        assert!(close(arm.total, want), "{} vs {want}", arm.total);
    }

    #[test]
    fn snapshot_cache_has_a_3_hour_minimum_and_restores_are_priced_per_gb() {
        let mut c = cfg(2048, Architecture::X86_64, 0, 0);
        let u = Usage {
            requests: 10,
            restores: 4,
            ..Usage::default()
        };
        // Without a snapshot: neither charge.
        let (gb_s, cost) = function_cost(&c, &u, 60 * S);
        assert_eq!((gb_s.snapshot_cache, cost.snapshot_cache), (0.0, 0.0));

        c.snapshot = true;
        // A 1-minute run is billed 3 h of cache: 2 GB × 10,800 s.
        let (gb_s, cost) = function_cost(&c, &u, 60 * S);
        assert!(close(gb_s.snapshot_cache, 21_600.0));
        assert!(close(cost.snapshot_cache, 21_600.0 * 0.0000015046));
        // 4 restores × 2 GB.
        assert!(close(gb_s.snapshot_restored_gb, 8.0));
        assert!(close(cost.snapshot_restore, 8.0 * 0.0001397998));
        assert!(close(
            cost.total,
            cost.requests + cost.snapshot_cache + cost.snapshot_restore
        ));
        // Past 3 h the cache is billed for the run's duration.
        let (gb_s, _) = function_cost(&c, &u, 4 * 3600 * S);
        assert!(close(gb_s.snapshot_cache, 2.0 * 4.0 * 3600.0));
    }

    #[test]
    fn idle_is_reported_not_billed() {
        let u = Usage {
            idle_on_demand_ns: 10 * u128::from(S),
            idle_provisioned_ns: 4 * u128::from(S),
            ..Usage::default()
        };
        let (gb_s, c) = function_cost(&cfg(2048, Architecture::X86_64, 0, 0), &u, S);
        assert!(close(gb_s.idle_on_demand, 20.0));
        assert!(close(gb_s.idle_provisioned, 8.0));
        assert_eq!(c.total, 0.0);
    }

    #[test]
    fn changing_provisioned_concurrency_bills_each_level_and_rounds_each_enabled_stretch() {
        let m = 60 * S;
        let none = cfg(1024, Architecture::X86_64, 0, 0);
        // 10 from 10 min to 40 min (30 min, a multiple of 5), then 0: 10 × 1800 s.
        let s = provisioned_concurrency_seconds(&none, &[(10 * m, 10), (40 * m, 0)], 60 * m);
        assert!(close(s, 18_000.0), "{s}");
        // 4 for 7 min then off: rounded up to 10 min at the last level (4 × 600 s).
        let s = provisioned_concurrency_seconds(&none, &[(0, 4), (7 * m, 0)], 60 * m);
        assert!(close(s, 2_400.0), "{s}");
        // 2 for 3 min, 6 for 3 min, off: 2×180 + 6×180, rounded to 10 min at the last level (+6×240).
        let s = provisioned_concurrency_seconds(&none, &[(0, 2), (3 * m, 6), (6 * m, 0)], 60 * m);
        assert!(close(s, 360.0 + 1080.0 + 1440.0), "{s}");
        // Still on at the end: billed to the end, rounded.
        let s = provisioned_concurrency_seconds(&none, &[(0, 1)], 61 * m);
        assert!(close(s, 65.0 * 60.0), "{s}");
        // Static PC of 5 from its allocation at 1 min, replaced at 11 min by 0: 5 × 600 s.
        let fixed = cfg(1024, Architecture::X86_64, 5, m);
        let s = provisioned_concurrency_seconds(&fixed, &[(11 * m, 0)], 60 * m);
        assert!(close(s, 3_000.0), "{s}");
        // A change before the static allocation started supersedes it.
        let s = provisioned_concurrency_seconds(&fixed, &[(0, 2)], 10 * m);
        assert!(close(s, 1_200.0), "{s}");
        // Without changes, the static rule.
        let s = provisioned_concurrency_seconds(&fixed, &[], 61 * m);
        assert!(
            close(s, 5.0 * provisioned_capacity_seconds(&fixed, 61 * m) as f64),
            "{s}"
        );
    }
}
