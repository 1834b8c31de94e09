//! Default values and fixed parameters of scenario settings, in one place. Values about Lambda cite
//! `docs/lambda.md`; the cold-start overheads are lambda-sim's own estimates.

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

/// Lambda's unreserved minimum on an account with this concurrency limit: min(100, limit). AWS's error text shows
/// `[100]` on default accounts, `[50]` and `[10]` on accounts limited to 50 and 10 (docs/lambda.md §1).
pub fn lambda_unreserved_minimum(concurrency_limit: u32) -> u32 {
    UNRESERVED_MINIMUM.min(concurrency_limit)
}

/// Synchronous requests per second each execution environment accounts for: "Each instance of your execution
/// environment can serve up to 10 requests per second" (docs/lambda.md §1).
pub const REQUESTS_PER_ENVIRONMENT: u32 = 10;

/// Current scaling model (since Nov 2023): each function may add 1,000 environments every 10 s.
pub const PER_FUNCTION_ENVIRONMENTS: u32 = 1000;
pub const PER_FUNCTION_WINDOW_NS: u64 = 10 * NS_PER_S;
/// Legacy scaling model (until Nov 2023): a Regional initial burst of 500, 1,000 or 3,000, then +500 per minute.
pub const LEGACY_BURSTS: [u32; 3] = [500, 1000, 3000];
pub const LEGACY_BURST: u32 = 3000;
pub const LEGACY_PER_MINUTE: u32 = 500;

/// Provisioned concurrency starts allocating "after a minute or two of preparation": one minute.
pub const PROVISIONED_ALLOCATION_DELAY_NS: u64 = 60 * NS_PER_S;
/// Observed idle lifetime of an environment: 5–7 minutes (Shilkov's last measurements, late 2020; the newest
/// systematic ones — docs/lambda.md §3).
pub const KEEP_ALIVE_MIN_NS: u64 = 5 * 60 * NS_PER_S;
pub const KEEP_ALIVE_MAX_NS: u64 = 7 * 60 * NS_PER_S;
/// `era = "2019"`: exactly 10 minutes (Shilkov, Jul 2019 – Apr 2020).
pub const KEEP_ALIVE_2019_NS: u64 = 10 * 60 * NS_PER_S;
/// `era = "2017"`: 25–65 minutes, median about 45 (Cui 2017, Lin Jan 2019, Shilkov Feb – Jun 2019).
pub const KEEP_ALIVE_2017_MIN_NS: u64 = 25 * 60 * NS_PER_S;
pub const KEEP_ALIVE_2017_MAX_NS: u64 = 65 * 60 * NS_PER_S;
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

/// Async invocation (`event_invoke_config`), docs/lambda.md §5: `MaximumRetryAttempts` 0–2, default 2
/// ([S27]; [S3 PutFunctionEventInvokeConfig]).
pub const MAXIMUM_RETRY_ATTEMPTS: u32 = 2;
pub const MAXIMUM_RETRY_ATTEMPTS_MAX: u32 = 2;
/// `MaximumEventAgeInSeconds` 60–21,600, default 6 h (§5; [S3 PutFunctionEventInvokeConfig]; [S27]).
pub const MAXIMUM_EVENT_AGE_NS: u64 = 6 * 3600 * NS_PER_S;
pub const MAXIMUM_EVENT_AGE_MIN_NS: u64 = 60 * NS_PER_S;
pub const MAXIMUM_EVENT_AGE_MAX_NS: u64 = 21_600 * NS_PER_S;
/// Destination labels (`on_success`, `on_failure`) and queue names are at most this long. Destinations are
/// lambda-sim's own labels, kept to the characters of a Lambda function name; SQS queue names allow 80 characters
/// of the same set (SQS `CreateQueue` API reference).
pub const DESTINATION_NAME_MAX: usize = 64;
pub const QUEUE_NAME_MAX: usize = 80;

/// SQS queues (`[[queue]]`). Not in docs/lambda.md, which covers Lambda only; from the SQS `CreateQueue` API
/// reference: `VisibilityTimeout` 0–43,200 s (12 h), default 30 s.
pub const VISIBILITY_TIMEOUT_NS: u64 = 30 * NS_PER_S;
pub const VISIBILITY_TIMEOUT_MAX_NS: u64 = 12 * 3600 * NS_PER_S;
/// `MessageRetentionPeriod` 60–1,209,600 s (14 days), default 345,600 s (4 days) (SQS `CreateQueue`).
pub const MESSAGE_RETENTION_NS: u64 = 4 * 24 * 3600 * NS_PER_S;
pub const MESSAGE_RETENTION_MIN_NS: u64 = 60 * NS_PER_S;
pub const MESSAGE_RETENTION_MAX_NS: u64 = 14 * 24 * 3600 * NS_PER_S;
/// Redrive policy `maxReceiveCount`: 1–1,000 (SQS); docs/lambda.md §10 recommends ≥ 5 for Lambda sources.
pub const MAX_RECEIVE_COUNT_MAX: u32 = 1000;

/// SQS event source mappings (`[[event_source]]`), docs/lambda.md §10: batch size default 10, up to 10,000
/// for standard queues; above 10 it needs a batching window of at least 1 s ([S38]; [S3 with-sqs]).
pub const BATCH_SIZE: u32 = 10;
pub const BATCH_SIZE_MAX: u32 = 10_000;
/// Largest batch size allowed without a batching window.
pub const BATCH_SIZE_WITHOUT_WINDOW: u32 = 10;
pub const BATCH_SIZE_MIN_WINDOW_NS: u64 = NS_PER_S;
/// Batching window 0–300 s, default 0 (§10).
pub const BATCHING_WINDOW_NS: u64 = 0;
pub const BATCHING_WINDOW_MAX_NS: u64 = 300 * NS_PER_S;
/// A mapping's maximum concurrency, when set: 2–1,000 (§10).
pub const MAXIMUM_CONCURRENCY_MIN: u32 = 2;
pub const MAXIMUM_CONCURRENCY_MAX: u32 = 1000;
