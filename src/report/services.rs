//! Simulated downstream services in a report: per `[[service]]`, how its calls ended, the connections it saw, and
//! call latency as handlers saw it (time waiting for a proxy connection included). Summary lines and the JSON
//! object `"services": { "<name>": { … } }`.

use std::fmt::Write;

use serde::Serialize;

use super::Percentiles;

/// One service's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceReport {
    pub name: String,
    /// The connection model: `"none"`, `"per_sandbox"` or `"proxy"`.
    pub connections: &'static str,
    /// Per-sandbox: the connection limit; proxy: the pool size; none: null.
    pub limit: Option<u32>,
    /// Every call handlers made.
    pub calls: u64,
    /// Calls that got an answer (an error answer included).
    pub answered: u64,
    /// Answers that were errors.
    pub errors: u64,
    /// Calls refused at once by a connection limit.
    pub refused: u64,
    /// Calls that waited for a proxy connection and gave up (borrow timeout or the invocation's deadline).
    pub timed_out: u64,
    /// Waiting calls dropped because their environment went away.
    pub abandoned: u64,
    /// Most database connections open at once (per-sandbox) or borrowed at once (proxy).
    pub peak_connections: u32,
    /// Proxy: most client connections (environments connected to the proxy) at once.
    pub peak_client_connections: u32,
    /// Calls that had to wait for a proxy connection, and the longest wait.
    pub waited_calls: u64,
    pub max_wait_ms: f64,
    /// Call latency, ms: from the call to its answer or refusal.
    pub latency_ms: Percentiles,
    /// The same latencies as an HdrHistogram in µs (JSON: base64 of its compressed V2 encoding, like functions').
    #[serde(serialize_with = "histogram")]
    pub latency_histogram: hdrhistogram::Histogram<u64>,
    /// Per bucket of the run's timeline ([`super::RunReport::timeline_bucket_ns`], same length as the functions'):
    /// JSON `{ "calls": [..], "failed": [..], "connections": [..], "waiting": [..] }`.
    #[serde(serialize_with = "columns")]
    pub timeline: Vec<ServiceBucket>,
}

/// One bucket of a service's timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServiceBucket {
    /// Calls made in the bucket.
    pub calls: u64,
    /// Calls that failed without an answer in the bucket (refused or gave up waiting).
    pub failed: u64,
    /// Most database connections open (per-sandbox) or borrowed (proxy) at once in the bucket.
    pub connections: u32,
    /// Most calls waiting for a proxy connection at once in the bucket.
    pub waiting: u32,
}

fn columns<S: serde::Serializer>(buckets: &[ServiceBucket], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(4))?;
    m.serialize_entry(
        "calls",
        &buckets.iter().map(|b| b.calls).collect::<Vec<_>>(),
    )?;
    m.serialize_entry(
        "failed",
        &buckets.iter().map(|b| b.failed).collect::<Vec<_>>(),
    )?;
    let connections: Vec<u32> = buckets.iter().map(|b| b.connections).collect();
    m.serialize_entry("connections", &connections)?;
    m.serialize_entry(
        "waiting",
        &buckets.iter().map(|b| b.waiting).collect::<Vec<_>>(),
    )?;
    m.end()
}

fn histogram<S: serde::Serializer>(
    h: &hdrhistogram::Histogram<u64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&super::json::encode_histogram(h))
}

/// The summary's section for one service.
pub(super) fn summary(out: &mut String, s: &ServiceReport) {
    let model = match (s.connections, s.limit) {
        ("per_sandbox", Some(limit)) => format!("per-sandbox connections, limit {limit}"),
        ("proxy", Some(pool)) => format!("proxy, pool of {pool}"),
        _ => "no connection limit".to_string(),
    };
    let _ = writeln!(out, "service {} · {model}", s.name);
    let _ = writeln!(
        out,
        "  calls         {} · answered {} (errors {}) · refused {} · gave up waiting {} · abandoned {}",
        s.calls, s.answered, s.errors, s.refused, s.timed_out, s.abandoned
    );
    let mut conn = format!("  connections   peak {}", s.peak_connections);
    if s.connections == "proxy" {
        let _ = write!(
            conn,
            " borrowed · peak {} clients · {} calls waited (longest {} ms)",
            s.peak_client_connections, s.waited_calls, s.max_wait_ms
        );
    }
    out.push_str(&conn);
    out.push('\n');
    let p = &s.latency_ms;
    let _ = writeln!(
        out,
        "  latency ms    p50 {} · p90 {} · p99 {} · max {} ({} calls)",
        p.p50, p.p90, p.p99, p.max, p.count
    );
}
