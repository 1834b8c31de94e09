//! The scenario file as written: serde structs mirroring the TOML tables (`deny_unknown_fields` everywhere), with
//! [`Spanned`] values so later checks can point at the offending value. Nothing here is validated beyond types.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::node::TomlNode;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub simulation: Option<Spanned<RawSimulation>>,
    pub account: Option<Spanned<RawAccount>>,
    pub not_lambda: Option<Spanned<RawNotLambda>>,
    #[serde(default, rename = "function")]
    pub functions: Vec<Spanned<RawFunction>>,
    #[serde(default)]
    pub traffic: Vec<Spanned<RawTraffic>>,
    #[serde(default, rename = "queue")]
    pub queues: Vec<Spanned<RawQueue>>,
    #[serde(default, rename = "event_source")]
    pub event_sources: Vec<Spanned<RawEventSource>>,
    #[serde(default, rename = "service")]
    pub services: Vec<Spanned<super::services::RawService>>,
    pub trace: Option<Spanned<super::trace::RawTrace>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSimulation {
    pub name: Option<Spanned<String>>,
    pub duration: Option<Spanned<DurationValue>>,
    pub seed: Option<Spanned<i64>>,
    pub mode: Option<Spanned<ModeName>>,
    pub ns_per_fuel: Option<Spanned<f64>>,
    pub memory_budget_mb: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum ModeName {
    Virtual,
    Realtime,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccount {
    pub concurrency_limit: Option<Spanned<i64>>,
    pub unreserved_minimum: Option<Spanned<i64>>,
    pub scaling: Option<Spanned<ScalingName>>,
    pub legacy_burst: Option<Spanned<i64>>,
    pub scaling_refill: Option<Spanned<RefillName>>,
    pub keep_alive_memory_mb: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotLambda {
    pub unreserved_minimum: Option<Spanned<i64>>,
    pub request_rate_limit: Option<Spanned<bool>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RefillName {
    Continuous,
    Stepwise,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum ScalingName {
    PerFunction,
    Legacy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFunction {
    pub name: Option<Spanned<String>>,
    pub code: Option<Spanned<String>>,
    pub handler: Option<Spanned<String>>,
    pub memory_mb: Option<Spanned<i64>>,
    pub timeout: Option<Spanned<DurationValue>>,
    pub reserved_concurrency: Option<Spanned<i64>>,
    pub provisioned_concurrency: Option<Spanned<i64>>,
    pub provisioned_allocation_delay: Option<Spanned<DurationValue>>,
    pub keep_alive: Option<Spanned<RawKeepAlive>>,
    /// A duration, or `"none"`.
    pub max_lifetime: Option<Spanned<DurationValue>>,
    pub architecture: Option<Spanned<ArchName>>,
    pub runtime: Option<Spanned<String>>,
    pub cold_start: Option<Spanned<RawColdStart>>,
    pub snapshot: Option<Spanned<bool>>,
    pub warmer: Option<Spanned<RawWarmer>>,
    pub provisioned_schedule: Option<Spanned<Vec<Spanned<RawScheduledAction>>>>,
    pub provisioned_autoscaling: Option<Spanned<RawTargetTracking>>,
    pub event_invoke_config: Option<Spanned<RawEventInvokeConfig>>,
    pub environment: Option<Spanned<std::collections::BTreeMap<String, String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEventInvokeConfig {
    pub maximum_retry_attempts: Option<Spanned<i64>>,
    pub maximum_event_age: Option<Spanned<DurationValue>>,
    pub on_success: Option<Spanned<String>>,
    pub on_failure: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    pub name: Option<Spanned<String>>,
    pub visibility_timeout: Option<Spanned<DurationValue>>,
    pub message_retention: Option<Spanned<DurationValue>>,
    pub dead_letter_queue: Option<Spanned<String>>,
    pub max_receive_count: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEventSource {
    pub queue: Option<Spanned<String>>,
    pub function: Option<Spanned<String>>,
    pub batch_size: Option<Spanned<i64>>,
    pub batching_window: Option<Spanned<DurationValue>>,
    pub maximum_concurrency: Option<Spanned<i64>>,
    pub report_batch_item_failures: Option<Spanned<bool>>,
    pub enabled: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKeepAlive {
    pub policy: Spanned<PolicyName>,
    /// `fixed` only.
    pub duration: Option<Spanned<DurationValue>>,
    /// `hybrid` only.
    pub fallback: Option<Spanned<DurationValue>>,
    /// `hybrid` only.
    pub min_samples: Option<Spanned<i64>>,
    /// `lambda` only: which period's measurements.
    pub era: Option<Spanned<EraName>>,
}

/// Periods of measured idle lifetimes on Lambda (docs/lambda.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(super) enum EraName {
    /// 5–7 min (Shilkov, late 2020; the newest systematic measurement).
    #[serde(rename = "2020")]
    Late2020,
    /// Exactly 10 min (Shilkov, Jul 2019 – Apr 2020).
    #[serde(rename = "2019")]
    Mid2019,
    /// 25–65 min, median ~45 (Cui 2017; Lin Jan 2019; Shilkov Feb – Jun 2019).
    #[serde(rename = "2017")]
    Early,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum PolicyName {
    Lambda,
    Fixed,
    None,
    Hybrid,
    #[serde(rename = "greedy-dual")]
    GreedyDual,
}

impl PolicyName {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyName::Lambda => "lambda",
            PolicyName::Fixed => "fixed",
            PolicyName::None => "none",
            PolicyName::Hybrid => "hybrid",
            PolicyName::GreedyDual => "greedy-dual",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub(super) enum ArchName {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawColdStart {
    pub placement_ms: Option<Spanned<TomlNode>>,
    pub download_mbps: Option<Spanned<f64>>,
    pub runtime_startup_ms: Option<Spanned<TomlNode>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTraffic {
    pub function: Option<Spanned<String>>,
    pub queue: Option<Spanned<String>>,
    pub pattern: Option<Spanned<PatternName>>,
    pub start: Option<Spanned<DurationValue>>,
    pub duration: Option<Spanned<DurationValue>>,
    pub rate: Option<Spanned<f64>>,
    pub from_rate: Option<Spanned<f64>>,
    pub to_rate: Option<Spanned<f64>>,
    pub count: Option<Spanned<i64>>,
    pub window: Option<Spanned<DurationValue>>,
    pub steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
    pub mean_rate: Option<Spanned<f64>>,
    pub amplitude: Option<Spanned<f64>>,
    pub period: Option<Spanned<DurationValue>>,
    pub users: Option<Spanned<i64>>,
    pub think_time_ms: Option<Spanned<TomlNode>>,
    pub file: Option<Spanned<String>>,
    pub invocation: Option<Spanned<InvocationName>>,
    pub payload: Option<Spanned<String>>,
    pub payload_file: Option<Spanned<String>>,
    pub payload_template: Option<Spanned<TomlNode>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum PatternName {
    Constant,
    Poisson,
    Ramp,
    Spike,
    Step,
    Sine,
    ClosedLoop,
    Replay,
}

impl PatternName {
    pub fn as_str(self) -> &'static str {
        match self {
            PatternName::Constant => "constant",
            PatternName::Poisson => "poisson",
            PatternName::Ramp => "ramp",
            PatternName::Spike => "spike",
            PatternName::Step => "step",
            PatternName::Sine => "sine",
            PatternName::ClosedLoop => "closed_loop",
            PatternName::Replay => "replay",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum InvocationName {
    RequestResponse,
    Event,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub at: Spanned<DurationValue>,
    pub rate: Spanned<f64>,
}

/// A duration as written: a humantime string (`"90s"`, `"1h 30m"`) or a number of seconds. Converted (and range
/// checked, with the field's name) by the validation code.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum DurationValue {
    Text(String),
    Seconds(f64),
}

impl fmt::Display for DurationValue {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            DurationValue::Text(s) => write!(f, "{s:?}"),
            DurationValue::Seconds(x) => write!(f, "{x}"),
        }
    }
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration such as \"90s\", \"10m\", \"1h 30m\" or a number of seconds",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationValue, E> {
                Ok(DurationValue::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationValue, E> {
                Ok(DurationValue::Seconds(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationValue, E> {
                Ok(DurationValue::Seconds(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationValue, E> {
                Ok(DurationValue::Seconds(v))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWarmer {
    pub every: Option<Spanned<DurationValue>>,
    pub concurrency: Option<Spanned<i64>>,
    pub payload: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScheduledAction {
    pub at: Option<Spanned<DurationValue>>,
    pub count: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTargetTracking {
    pub min: Option<Spanned<i64>>,
    pub max: Option<Spanned<i64>>,
    pub target: Option<Spanned<f64>>,
    pub scale_out_datapoints: Option<Spanned<i64>>,
    pub scale_in_datapoints: Option<Spanned<i64>>,
}
