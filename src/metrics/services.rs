//! Per-service metrics of a run: the latency of every call as the handler saw it (from the call to its answer or
//! refusal, waiting for a proxy connection included) and a timeline of calls, failures, connections and waiting
//! calls, combined at the end with the services model's own counts into [`ServiceReport`]s. Shared by both drivers.
//!
//! The timeline samples the model after each of its inputs ([`ServiceMetrics::observe`]); a bucket with no input
//! gets the model's load at its start ([`Services::load_at`], exact between inputs), which is why drivers make
//! their inputs to the model through [`ServiceMetrics::call`], [`ServiceMetrics::timer`] and
//! [`ServiceMetrics::sandbox_destroyed`]. Buckets are 1 s wide,
//! doubling past [`MAX_BUCKETS`], and are aligned to the run's timeline in the report.

use super::histograms::{Series, round3};
use crate::model::SandboxId;
use crate::model::services::{CallDecision, ConnectionModel, ServiceAction, ServiceId, Services};
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
    fn catch_up(&mut self, now_ns: u64, model: &Services) {
        for service in 0..model.len() {
            self.bucket(service, now_ns, model);
        }
    }

    /// After an input of the services model at `now_ns`: records every service's load in its bucket.
    fn observe(&mut self, now_ns: u64, model: &Services) {
        for service in 0..model.len() {
            let st = model.stats(service);
            let (connections, waiting) = (st.connections, st.queued as u32);
            let b = self.bucket(service, now_ns, model);
            b.connections = b.connections.max(connections);
            b.waiting = b.waiting.max(waiting);
        }
    }

    /// A call to `service` ended (answered or refused) `latency_ns` after it was made.
    fn call_ended(&mut self, service: ServiceId, latency_ns: u64) {
        if let Some(s) = self.latency.get_mut(service) {
            s.record(latency_ns);
        }
    }

    /// [`Services::call`], recorded: the call, and its latency or failure when decided at once.
    pub fn call(
        &mut self,
        model: &mut Services,
        now_ns: u64,
        service: ServiceId,
        sandbox: SandboxId,
        deadline_ns: u64,
    ) -> CallDecision {
        self.catch_up(now_ns, model);
        let decision = model.call(now_ns, service, sandbox, deadline_ns);
        self.bucket(service, now_ns, model).calls += 1;
        match decision {
            CallDecision::Completes { at_ns, .. } => {
                self.observe(now_ns, model);
                self.call_ended(service, at_ns - now_ns);
            }
            CallDecision::Refused { .. } => {
                self.bucket(service, now_ns, model).failed += 1;
                self.call_ended(service, 0);
            }
            CallDecision::Queued { .. } => self.observe(now_ns, model),
        }
        decision
    }

    /// [`Services::timer`], recorded.
    pub fn timer(&mut self, model: &mut Services, now_ns: u64) {
        self.catch_up(now_ns, model);
        model.timer(now_ns);
        self.observe(now_ns, model);
    }

    /// [`Services::sandbox_destroyed`], recorded.
    pub fn sandbox_destroyed(&mut self, model: &mut Services, now_ns: u64, sandbox: SandboxId) {
        self.catch_up(now_ns, model);
        model.sandbox_destroyed(now_ns, sandbox);
        self.observe(now_ns, model);
    }

    /// A call that waited for a proxy connection, made at `made_ns`, ended as `action` (`Started` or `TimedOut`).
    pub fn waited_call_ended(&mut self, model: &Services, action: &ServiceAction, made_ns: u64) {
        match *action {
            ServiceAction::Started {
                service,
                completes_at_ns,
                ..
            } => self.call_ended(service, completes_at_ns.saturating_sub(made_ns)),
            ServiceAction::TimedOut {
                service,
                at_ns,
                waited_ns,
                ..
            } => {
                self.call_ended(service, waited_ns);
                self.bucket(service, at_ns, model).failed += 1;
            }
            ServiceAction::SetTimer { .. } => {}
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
        self.timer(services, end_ns);
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
