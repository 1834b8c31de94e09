//! Per-service metrics of a run: the latency of every call as the handler saw it (from the call to its answer or
//! refusal, waiting for a proxy connection included), combined at the end with the services model's own counts
//! into [`ServiceReport`]s. Shared by both drivers.

use super::histograms::{Series, round3};
use crate::model::services::{ConnectionModel, ServiceId, Services};
use crate::report::ServiceReport;

/// Call latencies per service, in scenario order.
pub struct ServiceMetrics {
    latency: Vec<Series>,
}

impl ServiceMetrics {
    pub fn new(services: usize) -> Self {
        ServiceMetrics {
            latency: (0..services).map(|_| Series::nanos()).collect(),
        }
    }

    /// A call to `service` ended (answered or refused) `latency_ns` after it was made.
    pub fn call_ended(&mut self, service: ServiceId, latency_ns: u64) {
        if let Some(s) = self.latency.get_mut(service) {
            s.record(latency_ns);
        }
    }

    /// One report per service, with the model's counts as of `end_ns`.
    pub fn report(&self, services: &mut Services, end_ns: u64) -> Vec<ServiceReport> {
        // Bring the counts up to the end: connections returned since the last input are counted only then.
        services.timer(end_ns);
        (0..services.len())
            .map(|id| {
                let spec = services.spec(id);
                let st = services.stats(id);
                let (connections, limit) = match spec.connections {
                    None => ("none", None),
                    Some(ConnectionModel::PerSandbox { limit }) => ("per_sandbox", Some(limit)),
                    Some(ConnectionModel::Proxy { pool, .. }) => ("proxy", Some(pool)),
                };
                ServiceReport {
                    name: spec.name.clone(),
                    connections,
                    limit,
                    calls: st.calls,
                    answered: st.started,
                    errors: st.errors,
                    refused: st.refused,
                    timed_out: st.timed_out,
                    abandoned: st.abandoned,
                    peak_connections: st.peak_connections,
                    peak_client_connections: st.peak_client_connections,
                    waited_calls: st.waited,
                    max_wait_ms: round3(st.max_wait_ns as f64 / 1e6),
                    latency_ms: self.latency[id].percentiles(),
                    latency_histogram: self.latency[id].histogram().clone(),
                }
            })
            .collect()
    }
}
