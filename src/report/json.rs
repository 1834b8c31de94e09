//! The JSON report: deterministic byte for byte (fixed key order, no hash maps, floats rounded before
//! formatting), objects indented by two spaces, arrays of numbers on one line.
//!
//! Shape (keys in this order; `<fn>` = each function in scenario order; `total` has a function's shape without
//! `config`):
//!
//! ```text
//! { "lambda_sim_version", "scenario", "seed", "mode": "virtual"|"realtime", "duration_s", "end_s",
//!   "not_lambda": [ "<switch> (Lambda …)", … ]   (only when the scenario has a `[not_lambda]` switch),
//!   "conservation": { "arrivals", "outcomes_total", "ok" },                      // all functions
//!   "functions": { "<fn>": {
//!       "config": { "memory_mb", "architecture", "reserved_concurrency" (null if none),
//!                   "provisioned_concurrency", "provisioned_allocation_delay_s", "code_bytes", "snapshot" },
//!       "arrivals",
//!       "outcomes": { "success", "function_error", "timeout", "out_of_memory", "crash", "throttled",
//!                     "cut_at_shutdown" (only when not 0: real time, still running at shutdown) },
//!       "errors": { "<errorType>": count, … }   (failed invocations by errorType, in name order),
//!       "throttles": { "ConcurrentInvocationLimitExceeded", "ReservedFunctionConcurrentInvocationLimitExceeded",
//!                      "FunctionInvocationRateLimitExceeded", "ReservedFunctionInvocationRateLimitExceeded" },
//!       "throttle_causes": { "concurrency", "scaling_rate", "request_rate" },
//!       "cold_starts", "warm_starts", "provisioned_starts",
//!       "pings": { "sent", "cold_starts", "warm_starts", "throttled", "failed" },
//!       "cold_start_pct", "peak_concurrency",
//!       "environments": { "mean_busy", "mean_busy_provisioned", "mean_idle", "mean_idle_provisioned",
//!                         "mean_initializing", "mean_alive", "mean_alive_provisioned", "utilisation",
//!                         "busy_distribution": [[from, to, share], …] },   (time averages; P(n busy))
//!       "provisioned_changes": [ { "at_s", "count" }, … ],
//!       "sandboxes": { "created", "created_provisioned",
//!                      "destroyed": { "keep_alive", "evicted", "max_lifetime", "reset",
//!                                     "deprovisioned", "end_of_run" },
//!                      "destroyed_provisioned", "provisioned_inits", "prewarms" },
//!       "latency_ms": { "all"|"cold"|"warm"|"init"|"restore": { "p50", "p90", "p99", "p999", "max", "mean",
//!                                                             "count" },
//!                       "cold_start": { "placement"|"download"|"runtime"|"function_init"|"invocation": { … } } },
//!                       (cold_start: not per function in a run of many functions; the total has it)
//!       "billed_duration_ms": { "p50", …, "count" },
//!       "gb_s": { "on_demand", "provisioned_invocations", "provisioned_init", "provisioned_capacity",
//!                 "idle_on_demand", "idle_provisioned", "snapshot_cache", "snapshot_restored_gb" },
//!       "cost_usd": { "requests", "duration", "provisioned_capacity", "provisioned_duration", "snapshot_cache",
//!                     "snapshot_restore", "total" },
//!       "conservation": { "arrivals", "outcomes_total", "ok" },
//!       "histograms": { "all"|"cold"|"warm"|"init"|"billed"|"restore": "<base64 HdrHistogram V2+DEFLATE>" } } },
//!   "total": { … },
//!   "queues": { … }   (only with SQS queues; shape in `events_json.rs`; functions with Event invocations also
//!                      have "async_events" after "provisioned_changes")
//!   "services": { "<name>": { "name", "connections": "none"|"per_sandbox"|"proxy", "limit", "calls", "answered",
//!                 "errors", "refused", "timed_out", "abandoned", "peak_connections", "peak_client_connections",
//!                 "waited_calls", "max_wait_ms", "latency_ms": { "p50", …, "count" },
//!                 "latency_histogram": "<base64 HdrHistogram V2+DEFLATE, µs>",
//!                 "timeline": { "calls": [..], "failed": [..], "connections": [..], "waiting": [..] } } }
//!                 (only with [[service]]; timeline arrays have the run timeline's buckets)
//!   "timeline": { "bucket_s", "buckets",
//!                 "functions": { "<fn>": { "arrivals": [..], "cold_starts": [..], "throttles": [..], "pings": [..],
//!                                          "max_concurrency": [..], "alive": [..], "idle": [..] } },
//!                 "total": { … same arrays … } },
//!   "legend": { … one-line explanations … } }
//! ```
//!
//! Milliseconds are rounded to 3 decimals, percentages to 3 decimals, GB-s and USD to 12 significant digits.
//! Histograms use HdrHistogram's compressed V2 encoding (`V2DeflateSerializer`, cookie 0x1c849304), base64
//! (standard alphabet, padded): the form Java's `decodeFromCompressedByteBuffer`, HdrHistogramJS and Python's
//! `hdrh` read.

use std::io;

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer as HdrSerializer, V2DeflateSerializer};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde_json::ser::Formatter;

use super::events_json::{AsyncJson, QueueJson};
use super::{
    Conservation, FunctionConfig, FunctionReport, OutcomeCounts, Percentiles, PingCounts,
    RunReport, TimelineBucket, architecture_str,
};
use crate::model::{DestroyReason, ThrottleCause, ThrottleReason};

pub(super) fn to_json(r: &RunReport) -> String {
    let mut out = Vec::with_capacity(16 * 1024);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, CompactArrays::default());
    ReportJson::new(r)
        .serialize(&mut ser)
        .expect("serializing a report to memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// A histogram as base64 of its compressed V2 encoding.
pub(crate) fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .expect("a u64 histogram with counts below i64::MAX serializes");
    base64::engine::general_purpose::STANDARD.encode(&buf)
}

/// Rounds to 12 significant digits, through Rust's exact (platform-independent) decimal formatting.
fn sig12(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return 0.0;
    }
    format!("{x:.11e}").parse().unwrap_or(x)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// A JSON object whose keys keep the given order.
struct Ordered<K, V>(Vec<(K, V)>);

impl<K, V> Ordered<K, V> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: AsRef<str>, V: Serialize> Serialize for Ordered<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct ReportJson<'a> {
    lambda_sim_version: &'static str,
    scenario: &'a str,
    seed: u64,
    mode: &'static str,
    duration_s: f64,
    end_s: f64,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    not_lambda: &'a [String],
    conservation: Conservation,
    functions: Ordered<&'a str, FunctionJson<'a>>,
    total: FunctionJson<'a>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    queues: Ordered<&'a str, QueueJson<'a>>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    services: Ordered<&'a str, &'a super::ServiceReport>,
    timeline: TimelineJson<'a>,
    legend: Ordered<&'static str, &'static str>,
}

impl<'a> ReportJson<'a> {
    fn new(r: &'a RunReport) -> Self {
        let t = &r.total;
        ReportJson {
            lambda_sim_version: env!("CARGO_PKG_VERSION"),
            scenario: &r.scenario,
            seed: r.seed,
            mode: r.mode_str(),
            duration_s: seconds(r.duration_ns),
            end_s: seconds(r.end_ns),
            not_lambda: &r.not_lambda,
            conservation: Conservation {
                arrivals: t.arrivals,
                outcomes_total: t.outcomes.total(),
                ok: r.conservation_ok(),
            },
            functions: Ordered(
                r.functions
                    .iter()
                    .map(|f| (f.name.as_str(), FunctionJson::new(f)))
                    .collect(),
            ),
            total: FunctionJson::new(t),
            queues: Ordered(
                r.queues
                    .iter()
                    .map(|q| (q.name.as_str(), QueueJson::new(q)))
                    .collect(),
            ),
            services: Ordered(r.services.iter().map(|s| (s.name.as_str(), s)).collect()),
            timeline: TimelineJson {
                bucket_s: r.timeline_bucket_ns / 1_000_000_000,
                buckets: t.timeline.len(),
                functions: Ordered(
                    r.functions
                        .iter()
                        .map(|f| (f.name.as_str(), Columns(&f.timeline)))
                        .collect(),
                ),
                total: Columns(&t.timeline),
            },
            legend: Ordered(LEGEND.to_vec()),
        }
    }
}

const LEGEND: [(&str, &str); 7] = [
    (
        "latency_ms",
        "end-to-end (arrival to response) in ms; warm includes provisioned; percentiles from HdrHistogram \
         (3 significant digits) clamped to the exact min/max; max and mean exact",
    ),
    (
        "init",
        "Init Duration of cold starts whose init ran on the request path",
    ),
    (
        "cold_start",
        "cold starts taken apart: placement + download (modelled) + init (runtime start-up + the function's \
         init code) or restore + invocation (its REPORT Duration); each over the cold starts; not per function \
         in a run of more functions than the report details",
    ),
    (
        "restore",
        "Restore Duration of cold starts restored from a snapshot (modelled; not billed as duration)",
    ),
    (
        "histograms",
        "HdrHistogram V2 compressed (DEFLATE), base64; all/cold/warm/init/restore in microseconds, billed in ms",
    ),
    (
        "cost_usd",
        "us-east-1 tier-1 prices, no free tier; throttles not billed; provisioned capacity from allocation \
         start to end_s, rounded up to 5 minutes; snapshot cache from 0 to end_s, at least 3 hours, and \
         restores per GB of memory (SnapStart prices)",
    ),
    (
        "timeline",
        "per bucket of bucket_s seconds: arrivals, cold starts (by arrival), throttles, warmer pings sent, max \
         concurrency; alive and idle environments at the bucket's end",
    ),
];

#[derive(Serialize)]
struct ConfigJson {
    memory_mb: u64,
    architecture: &'static str,
    reserved_concurrency: Option<u32>,
    provisioned_concurrency: u32,
    provisioned_allocation_delay_s: f64,
    code_bytes: u64,
    snapshot: bool,
}

impl ConfigJson {
    fn new(c: &FunctionConfig) -> Self {
        ConfigJson {
            memory_mb: c.memory_mb,
            architecture: architecture_str(c.architecture),
            reserved_concurrency: c.reserved_concurrency,
            provisioned_concurrency: c.provisioned_concurrency,
            provisioned_allocation_delay_s: seconds(c.provisioned_allocation_delay_ns),
            code_bytes: c.code_bytes,
            snapshot: c.snapshot,
        }
    }
}

#[derive(Serialize)]
struct SandboxesJson {
    created: u64,
    created_provisioned: u64,
    destroyed: Ordered<&'static str, u64>,
    destroyed_provisioned: u64,
    provisioned_inits: u64,
    prewarms: u64,
}

#[derive(Serialize)]
struct LatencyJson<'a> {
    all: &'a Percentiles,
    cold: &'a Percentiles,
    warm: &'a Percentiles,
    init: &'a Percentiles,
    restore: &'a Percentiles,
    #[serde(skip_serializing_if = "Option::is_none")]
    cold_start: Option<&'a super::ColdStartSummary>,
}

#[derive(Serialize)]
struct ProvisionedChangeJson {
    at_s: f64,
    count: u32,
}

/// `environments`: time-averaged counts (6 decimals) and P(n busy) as `[from, to, share]` triples.
#[derive(Serialize)]
struct EnvironmentsJson {
    mean_busy: f64,
    mean_busy_provisioned: f64,
    mean_idle: f64,
    mean_idle_provisioned: f64,
    mean_initializing: f64,
    mean_alive: f64,
    mean_alive_provisioned: f64,
    utilisation: f64,
    busy_distribution: Vec<(u32, u32, f64)>,
}

impl EnvironmentsJson {
    fn new(o: &crate::report::Occupancy) -> Self {
        let r6 = |x: f64| (x * 1e6).round() / 1e6;
        EnvironmentsJson {
            mean_busy: r6(o.mean_busy),
            mean_busy_provisioned: r6(o.mean_busy_provisioned),
            mean_idle: r6(o.mean_idle),
            mean_idle_provisioned: r6(o.mean_idle_provisioned),
            mean_initializing: r6(o.mean_initializing),
            mean_alive: r6(o.mean_alive),
            mean_alive_provisioned: r6(o.mean_alive_provisioned),
            utilisation: r6(o.utilisation),
            busy_distribution: o
                .busy_distribution
                .iter()
                .map(|b| (b.from, b.to, r6(b.share)))
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct FunctionJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<ConfigJson>,
    arrivals: u64,
    outcomes: &'a OutcomeCounts,
    errors: &'a std::collections::BTreeMap<String, u64>,
    throttles: Ordered<&'static str, u64>,
    throttle_causes: Ordered<&'static str, u64>,
    cold_starts: u64,
    warm_starts: u64,
    provisioned_starts: u64,
    pings: &'a PingCounts,
    cold_start_pct: f64,
    peak_concurrency: u32,
    environments: EnvironmentsJson,
    provisioned_changes: Vec<ProvisionedChangeJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    async_events: Option<AsyncJson<'a>>,
    sandboxes: SandboxesJson,
    latency_ms: LatencyJson<'a>,
    billed_duration_ms: &'a Percentiles,
    gb_s: Ordered<&'static str, f64>,
    cost_usd: Ordered<&'static str, f64>,
    conservation: &'a Conservation,
    histograms: Ordered<&'static str, String>,
}

impl<'a> FunctionJson<'a> {
    fn new(f: &'a FunctionReport) -> Self {
        let (g, c, h) = (&f.gb_s, &f.cost, &f.histograms);
        FunctionJson {
            config: f.config.as_ref().map(ConfigJson::new),
            arrivals: f.arrivals,
            outcomes: &f.outcomes,
            errors: &f.errors,
            throttles: Ordered(
                ThrottleReason::ALL
                    .map(|r| (r.as_str(), f.throttles.reason(r)))
                    .to_vec(),
            ),
            throttle_causes: Ordered(
                ThrottleCause::ALL
                    .map(|c| (c.as_str(), f.throttles.cause(c)))
                    .to_vec(),
            ),
            cold_starts: f.cold_starts,
            warm_starts: f.warm_starts,
            provisioned_starts: f.provisioned_starts,
            pings: &f.pings,
            cold_start_pct: round3(f.cold_start_ratio() * 100.0),
            peak_concurrency: f.peak_concurrency,
            environments: EnvironmentsJson::new(&f.occupancy),
            provisioned_changes: f
                .provisioned_changes
                .iter()
                .map(|&(t, count)| ProvisionedChangeJson {
                    at_s: round3(t as f64 / 1e9),
                    count,
                })
                .collect(),
            async_events: f.async_events.as_ref().map(AsyncJson::new),
            sandboxes: SandboxesJson {
                created: f.sandboxes.created,
                created_provisioned: f.sandboxes.created_provisioned,
                destroyed: Ordered(
                    DestroyReason::ALL
                        .map(|r| (r.as_str(), f.sandboxes.destroyed(r)))
                        .to_vec(),
                ),
                destroyed_provisioned: f.sandboxes.destroyed_provisioned,
                provisioned_inits: f.sandboxes.provisioned_inits,
                prewarms: f.sandboxes.prewarms,
            },
            latency_ms: LatencyJson {
                all: &f.latency.all,
                cold: &f.latency.cold,
                warm: &f.latency.warm,
                init: &f.latency.init,
                restore: &f.latency.restore,
                cold_start: f.latency.cold_start.as_ref(),
            },
            billed_duration_ms: &f.latency.billed,
            gb_s: Ordered(vec![
                ("on_demand", sig12(g.on_demand)),
                ("provisioned_invocations", sig12(g.provisioned_invocations)),
                ("provisioned_init", sig12(g.provisioned_init)),
                ("provisioned_capacity", sig12(g.provisioned_capacity)),
                ("idle_on_demand", sig12(g.idle_on_demand)),
                ("idle_provisioned", sig12(g.idle_provisioned)),
                ("snapshot_cache", sig12(g.snapshot_cache)),
                ("snapshot_restored_gb", sig12(g.snapshot_restored_gb)),
            ]),
            cost_usd: Ordered(vec![
                ("requests", sig12(c.requests)),
                ("duration", sig12(c.duration)),
                ("provisioned_capacity", sig12(c.provisioned_capacity)),
                ("provisioned_duration", sig12(c.provisioned_duration)),
                ("snapshot_cache", sig12(c.snapshot_cache)),
                ("snapshot_restore", sig12(c.snapshot_restore)),
                ("total", sig12(c.total)),
            ]),
            conservation: &f.conservation,
            histograms: Ordered(vec![
                ("all", encode_histogram(&h.all)),
                ("cold", encode_histogram(&h.cold)),
                ("warm", encode_histogram(&h.warm)),
                ("init", encode_histogram(&h.init)),
                ("billed", encode_histogram(&h.billed)),
                ("restore", encode_histogram(&h.restore)),
            ]),
        }
    }
}

#[derive(Serialize)]
struct TimelineJson<'a> {
    bucket_s: u64,
    buckets: usize,
    functions: Ordered<&'a str, Columns<'a>>,
    total: Columns<'a>,
}

/// A timeline as one array per field.
struct Columns<'a>(&'a [TimelineBucket]);

/// One field of every bucket, as a JSON array.
struct Column<'a>(&'a [TimelineBucket], fn(&TimelineBucket) -> u64);

impl Serialize for Column<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(self.1))
    }
}

impl Serialize for Columns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = self.0;
        let mut st = s.serialize_struct("Timeline", 7)?;
        st.serialize_field("arrivals", &Column(b, |x| x.arrivals))?;
        st.serialize_field("cold_starts", &Column(b, |x| x.cold_starts))?;
        st.serialize_field("throttles", &Column(b, |x| x.throttles))?;
        st.serialize_field("pings", &Column(b, |x| x.pings))?;
        st.serialize_field(
            "max_concurrency",
            &Column(b, |x| u64::from(x.max_concurrency)),
        )?;
        st.serialize_field("alive", &Column(b, |x| u64::from(x.alive)))?;
        st.serialize_field("idle", &Column(b, |x| u64::from(x.idle)))?;
        st.end()
    }
}

/// serde_json's pretty layout for objects (two-space indent), but arrays on one line: timelines stay compact.
#[derive(Default)]
struct CompactArrays {
    indent: usize,
    has_value: bool,
}

impl CompactArrays {
    fn newline<W: ?Sized + io::Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..self.indent {
            w.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl Formatter for CompactArrays {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b",") }
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.indent += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.indent -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}
