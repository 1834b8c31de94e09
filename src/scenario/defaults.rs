//! Default values and fixed parameters of scenario settings, in one place. Values about Lambda cite
//! `../shared/lambda-reference.md`; the cold-start overheads are lambda-sim's own estimates.

use super::Distribution;
use crate::limits::NS_PER_S;

/// Seed when `[simulation] seed` is absent.
pub const SEED: u64 = 1;

/// Regional concurrency limit (Lambda's default: 1,000).
pub const CONCURRENCY_LIMIT: u32 = 1000;
/// Highest concurrency limit a scenario may ask for.
pub const MAX_CONCURRENCY_LIMIT: u32 = 1_000_000;
/// Concurrency Lambda always keeps for functions without reserved concurrency: 100, or the account limit if lower
/// (the observed floor is min(100, limit)).
pub const UNRESERVED_MINIMUM: u32 = 100;

/// Current scaling model (since Nov 2023): each function may add 1,000 environments every 10 s.
pub const PER_FUNCTION_ENVIRONMENTS: u32 = 1000;
pub const PER_FUNCTION_WINDOW_NS: u64 = 10 * NS_PER_S;
/// Legacy scaling model (until Nov 2023): a Regional initial burst of 500, 1,000 or 3,000, then +500 per minute.
pub const LEGACY_BURSTS: [u32; 3] = [500, 1000, 3000];
pub const LEGACY_BURST: u32 = 3000;
pub const LEGACY_PER_MINUTE: u32 = 500;

/// Provisioned concurrency starts allocating "after a minute or two of preparation": one minute.
pub const PROVISIONED_ALLOCATION_DELAY_NS: u64 = 60 * NS_PER_S;
/// Observed idle lifetime of an environment: 5–7 minutes.
pub const KEEP_ALIVE_MIN_NS: u64 = 5 * 60 * NS_PER_S;
pub const KEEP_ALIVE_MAX_NS: u64 = 7 * 60 * NS_PER_S;
/// Lambda recycles environments "every few hours": four.
pub const MAX_LIFETIME_NS: u64 = 4 * 3600 * NS_PER_S;

/// Hybrid keep-alive: the fixed keep-alive used while the idle-time histogram is not representative. Ten minutes,
/// the fixed policy Shahrad et al. (ATC '20) compare against.
pub const HYBRID_FALLBACK_NS: u64 = 10 * 60 * NS_PER_S;
/// Hybrid keep-alive: idle times a function needs before its histogram is used (lambda-sim's choice).
pub const HYBRID_MIN_SAMPLES: u32 = 10;
pub const HYBRID_MIN_SAMPLES_MAX: u32 = 1_000_000;
/// Greedy-dual keep-alive memory budget range, MB: one smallest environment up to every environment of the
/// largest account at the largest memory size.
pub const KEEP_ALIVE_MEMORY_MB_MIN: u64 = crate::limits::MEMORY_MB_MIN;
pub const KEEP_ALIVE_MEMORY_MB_MAX: u64 =
    MAX_CONCURRENCY_LIMIT as u64 * crate::limits::MEMORY_MB_MAX;

/// Placement and microVM boot of a cold start, median ms. An estimate: Lambda reports it nowhere; Firecracker boots
/// a microVM in about 125 ms (Agache et al., NSDI '20). lambda-sim's own choice, not an AWS figure.
pub const PLACEMENT_MEDIAN_MS: f64 = 90.0;
/// Spread (sigma of the log) of the placement time. Also an estimate.
pub const PLACEMENT_SIGMA: f64 = 0.35;
/// Code download bandwidth, MB/s (1 MB = 10^6 bytes). An estimate.
pub const DOWNLOAD_MBPS: f64 = 50.0;

/// Default placement distribution: lognormal, median 90 ms, sigma 0.35.
pub fn placement_ms() -> Distribution {
    Distribution::LogNormal {
        median: PLACEMENT_MEDIAN_MS,
        sigma: PLACEMENT_SIGMA,
    }
}

/// Default payload of a traffic phase.
pub const PAYLOAD: &str = "{}";

/// Default think time of closed-loop users: none.
pub fn think_time_ms() -> Distribution {
    Distribution::Constant { value: 0.0 }
}
