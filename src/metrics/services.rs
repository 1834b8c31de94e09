//! Per-service metrics of a run: the latency of every call as the handler saw it (from the call to its answer or
//! refusal, waiting for a proxy connection included) and a timeline of calls, failures, connections and waiting
//! calls, combined at the end with the services model's own counts into [`ServiceReport`]s. Shared by both drivers.
//!
//! The timeline samples the model after each of its inputs ([`ServiceMetrics::observe`]); a bucket with no input
//! gets the model's load at its start ([`Services::load_at`], exact between inputs), which is why a driver calls
//! [`ServiceMetrics::catch_up`] before each input. Buckets are 1 s wide,
//! doubling past [`MAX_BUCKETS`], and are aligned to the run's timeline in the report.

use super::histograms::{Series, round3};
use crate::model::services::{ConnectionModel, ServiceId, Services};
use crate::report::{ServiceBucket, ServiceReport};

/// Most buckets a service timeline keeps before doubling the bucket width.
const MAX_BUCKETS: usize = 100_000;
const NS_PER_S: u64 = 1_000_000_000;

/// Call latencies and timelines per service, in scenario order.
#[derive(Clone)]
pub struct ServiceMetrics {
    latency: Vec<Series>,
    timelines: Vec<Vec<ServiceBucket>>,
    /// Bucket width, seconds (a power of two).
    width_s: u64,
}

impl ServiceMetrics {
    pub fn new(services: usize) -> Self {
        ServiceMetrics {
            latency: (0..services).map(|_| Series::nanos()).collect(),
            timelines: vec![Vec::new(); services],
            width_s: 1,
        }
    }

    /// The bucket of `t_ns` of `service`'s timeline, made (with quiet buckets filled from the model) as needed.
    fn bucket(&mut self, service: ServiceId, t_ns: u64, model: &Services) -> &mut ServiceBucket {
        let mut i = (t_ns / (self.width_s * NS_PER_S)) as usize;
        while i >= MAX_BUCKETS {
            self.coarsen();
            i = (t_ns / (self.width_s * NS_PER_S)) as usize;
        }
        let width_ns = self.width_s * NS_PER_S;
        let buckets = &mut self.timelines[service];
        while buckets.len() <= i {
            let start_ns = buckets.len() as u64 * width_ns;
            let (connections, waiting) = model.load_at(service, start_ns);
            buckets.push(ServiceBucket {
                connections,
                waiting,
                ..ServiceBucket::default()
            });
        }
        &mut buckets[i]
    }

    fn coarsen(&mut self) {
        for buckets in &mut self.timelines {
            *buckets = buckets
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => fold(*a, b),
                    [a] => *a,
                    _ => ServiceBucket::default(),
                })
                .collect();
        }
        self.width_s *= 2;
    }

    /// Before an input of the services model at `now_ns`: makes the buckets up to `now_ns` from the model's state
    /// since its last input (quiet buckets get the load at their start).
    pub fn catch_up(&mut self, now_ns: u64, model: &Services) {
        for service in 0..model.len() {
            self.bucket(service, now_ns, model);
        }
    }

    /// After an input of the services model at `now_ns`: records every service's load in its bucket.
    pub fn observe(&mut self, now_ns: u64, model: &Services) {
        for service in 0..model.len() {
            let st = model.stats(service);
            let (connections, waiting) = (st.connections, st.queued as u32);
            let b = self.bucket(service, now_ns, model);
            b.connections = b.connections.max(connections);
            b.waiting = b.waiting.max(waiting);
        }
    }

    /// A call to `service` was made at `t_ns`.
    pub fn call_made(&mut self, service: ServiceId, t_ns: u64, model: &Services) {
        self.bucket(service, t_ns, model).calls += 1;
    }

    /// A call to `service` failed without an answer at `t_ns` (refused, or gave up waiting).
    pub fn call_failed(&mut self, service: ServiceId, t_ns: u64, model: &Services) {
        self.bucket(service, t_ns, model).failed += 1;
    }

    /// A call to `service` ended (answered or refused) `latency_ns` after it was made.
    pub fn call_ended(&mut self, service: ServiceId, latency_ns: u64) {
        if let Some(s) = self.latency.get_mut(service) {
            s.record(latency_ns);
        }
    }

    /// One report per service, with the model's counts as of `end_ns`; timelines in buckets of `bucket_ns` (the
    /// run's timeline width), `len` of them.
    pub fn report(
        &mut self,
        services: &mut Services,
        end_ns: u64,
        bucket_ns: u64,
        len: usize,
    ) -> Vec<ServiceReport> {
        // Bring the counts up to the end: connections returned since the last input are counted only then.
        services.timer(end_ns);
        self.observe(end_ns, services);
        while self.width_s * NS_PER_S < bucket_ns {
            self.coarsen();
        }
        for t in &mut self.timelines {
            t.resize(len, ServiceBucket::default());
        }
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
                    timeline: std::mem::take(&mut self.timelines[id]),
                }
            })
            .collect()
    }
}

/// Two adjacent buckets as one: counts add, peaks max.
fn fold(a: ServiceBucket, b: &ServiceBucket) -> ServiceBucket {
    ServiceBucket {
        calls: a.calls + b.calls,
        failed: a.failed + b.failed,
        connections: a.connections.max(b.connections),
        waiting: a.waiting.max(b.waiting),
    }
}
