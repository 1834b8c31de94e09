//! Simulated downstream services (a database, an HTTP API) that handlers call by name: latency, errors and
//! connection limits, as a pure state machine in the sans-IO style of [`crate::Platform`].
//!
//! The driver calls [`Services::call`], [`Services::sandbox_destroyed`] and [`Services::timer`] with the current time
//! (`now_ns`, nanoseconds since scenario start) and drains [`Services::poll_action`]. A call is decided at once
//! ([`CallDecision::Completes`] or [`CallDecision::Refused`]) or waits for a proxy connection
//! ([`CallDecision::Queued`]); a waiting call later ends as [`ServiceAction::Started`] or [`ServiceAction::TimedOut`].
//! The model samples each call's latency itself, so it knows when a connection is handed back: no "call finished"
//! input exists, and a `SetTimer { at_ns }` action only asks the driver to call `timer(at_ns)` so that waiting calls
//! start or give up on time. Timers are never cancelled; one that finds nothing due does nothing. Inputs must come in
//! nondecreasing `now_ns` (like every model input): a call is decided on the state at its instant.
//!
//! Rules (sources: [L1] Lambda developer guide, "Best practices for working with AWS Lambda functions",
//! <https://docs.aws.amazon.com/lambda/latest/dg/best-practices.html>; [P1] "RDS Proxy concepts and terminology",
//! <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.howitworks.html>; [P2] RDS API reference,
//! `ConnectionPoolConfiguration`, <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ConnectionPoolConfiguration.html>;
//! [P3] "RDS Proxy connection considerations", <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html>):
//!
//! - **Latency and errors.** Every call draws its latency (milliseconds, from the service's distribution; a negative
//!   draw counts as 0) and then whether it errs (probability `error_rate`), from the service's own seeded RNG, in the
//!   order of the calls, *whether or not the call is refused*. So the n-th call to a service sees the same latency and
//!   error under every connection model: a per-sandbox run and a proxy run of one spike differ only by connections.
//!   An erring call still takes its latency (the service answered with an error).
//! - **No connection model** (`connections = None`): an HTTP-style service; calls never wait and are never refused.
//! - **Per-sandbox connections** ([`ConnectionModel::PerSandbox`]): the handler keeps its connection in the execution
//!   environment and reuses it on later invocations ("initialize SDK clients and database connections outside of the
//!   function handler … subsequent invocations processed by the same instance of your function can reuse these
//!   resources" [L1]). A sandbox opens its connection on its first call and holds it until the driver reports the
//!   sandbox destroyed (keep-alive, eviction, reset, end of run), busy or idle. A sandbox without a connection that
//!   calls while `limit` connections are open is refused at once, like a database at `max_connections` (MySQL error
//!   1040 "Too many connections", PostgreSQL "sorry, too many clients already"); it holds nothing and tries to connect
//!   again on its next call. Calls of one sandbox are sequential (the ABI call blocks the invocation), so one
//!   connection per sandbox is enough and never queues.
//! - **Proxy** ([`ConnectionModel::Proxy`], like RDS Proxy): each sandbox holds a *client* connection to the proxy
//!   (opened on first call, kept until destroyed, as above); the proxy multiplexes them over a pool of `pool` database
//!   connections. A call *borrows* a pool connection for its duration and hands it back when it completes ("reuse a
//!   connection after each transaction … called multiplexing … removes a connection from the pool to reuse it …
//!   borrowing" [P1]; one call = one transaction here, pinning is not modelled). When all `pool` connections are busy
//!   the call waits, first come first served (FIFO by call order; AWS does not document the order); when a connection
//!   comes back it goes to the oldest waiting call at that instant. A waiting call gives up when the borrow timeout
//!   passes (`ConnectionBorrowTimeout`, default 120 s, 0 = unlimited [P2]) or when the invocation's deadline
//!   (passed in by the driver) arrives, whichever is first; a call may start only strictly before that instant (at
//!   the instant itself it times out). `max_client_connections` optionally caps client connections: a new sandbox
//!   beyond it is refused at once (a modelling knob, not an AWS number; RDS Proxy's own cap is the pool size,
//!   `MaxConnectionsPercent` of the database's `max_connections` [P3]). The proxy keeps idle database connections
//!   open, so the database sees at most the peak of borrowed connections (`MaxIdleConnectionsPercent` and
//!   `IdleClientTimeout`, 30 min [P3], are not modelled).
//! - **Destroyed sandboxes.** A sandbox's connections (per-sandbox, or client connection to the proxy) close when it is
//!   destroyed; a call of it still waiting for a proxy connection is dropped (`abandoned`). A call already running
//!   keeps its pool connection until its latency ends: the database finishes a query whose client went away.
//! - **Connection setup time** is not modelled (a connect costs no time).
//!
//! Ids ([`CallId`]) count from 0 across all services in the order of the calls, so a run is reproducible from the
//! scenario and seed: ordered collections only, no hash-map iteration, no clock.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::SandboxId;
use crate::Distribution;

/// RDS Proxy's default `ConnectionBorrowTimeout`: 120 s [P2].
pub const DEFAULT_BORROW_TIMEOUT_NS: u64 = 120 * 1_000_000_000;

/// A service: its index in the list given to [`Services::new`].
pub type ServiceId = usize;

/// One call to a service, unique within a run (counted from 0 in call order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

/// A downstream service as the scenario describes it (`[[service]]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    pub name: String,
    /// Time from the call until the answer, milliseconds.
    pub latency_ms: Distribution,
    /// Probability that a call that runs returns an error, 0–1.
    pub error_rate: f64,
    /// `None`: no connection limits (an HTTP API).
    pub connections: Option<ConnectionModel>,
}

/// How sandboxes hold connections to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionModel {
    /// Each sandbox opens its own connection on first use and keeps it while it lives; at most `limit` are open.
    PerSandbox { limit: u32 },
    /// A proxy multiplexes sandboxes' client connections over `pool` database connections.
    Proxy {
        pool: u32,
        /// Cap on client connections (sandboxes connected to the proxy); `None`: unlimited.
        max_client_connections: Option<u32>,
        /// Longest wait for a pool connection (`ConnectionBorrowTimeout`); 0 = unlimited.
        borrow_timeout_ns: u64,
    },
}

/// Why a call failed without running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Refusal {
    /// Per-sandbox model: `limit` connections were already open.
    TooManyConnections { limit: u32 },
    /// Proxy model: `limit` client connections were already open.
    TooManyClientConnections { limit: u32 },
    /// Proxy model: no pool connection came free within the borrow timeout.
    BorrowTimeout,
    /// Proxy model: the invocation's deadline came before a pool connection.
    DeadlineExceeded,
}

impl Refusal {
    /// The error a handler sees, e.g. "service `db` refused the connection: too many connections (limit 100)".
    pub fn message(self, service: &str) -> String {
        match self {
            Refusal::TooManyConnections { limit } => format!(
                "service `{service}` refused the connection: too many connections (limit {limit})"
            ),
            Refusal::TooManyClientConnections { limit } => format!(
                "service `{service}` proxy refused the connection: too many client connections (limit {limit})"
            ),
            Refusal::BorrowTimeout => format!(
                "service `{service}` proxy: timed out waiting to borrow a connection from the pool"
            ),
            Refusal::DeadlineExceeded => format!(
                "service `{service}` proxy: the invocation's deadline passed while waiting for a pool connection"
            ),
        }
    }
}

/// The answer to [`Services::call`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallDecision {
    /// The call runs now and answers at `at_ns` (an error if `error`).
    Completes {
        call: CallId,
        at_ns: u64,
        error: bool,
    },
    /// The call fails now without running.
    Refused { call: CallId, refusal: Refusal },
    /// The call waits for a proxy connection; it ends later as [`ServiceAction::Started`] or
    /// [`ServiceAction::TimedOut`].
    Queued { call: CallId },
}

/// What the driver must do or learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    /// A waiting call got a pool connection at `at_ns` after `waited_ns`, and answers at `completes_at_ns`.
    Started {
        call: CallId,
        service: ServiceId,
        sandbox: SandboxId,
        at_ns: u64,
        completes_at_ns: u64,
        waited_ns: u64,
        error: bool,
    },
    /// A waiting call gave up at `at_ns` after `waited_ns` (`refusal` is `BorrowTimeout` or `DeadlineExceeded`).
    TimedOut {
        call: CallId,
        service: ServiceId,
        sandbox: SandboxId,
        at_ns: u64,
        waited_ns: u64,
        refusal: Refusal,
    },
    /// Call [`Services::timer`] at `at_ns`.
    SetTimer { at_ns: u64 },
}

/// Per-service counts, as of the last input. At any time `calls = started + refused + timed_out + abandoned +
/// queued` (checked by [`ServiceStats::balanced`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    pub calls: u64,
    /// Calls that got a connection and ran (at once or after waiting).
    pub started: u64,
    /// Started calls that returned an error.
    pub errors: u64,
    /// Calls refused at once by a connection limit.
    pub refused: u64,
    /// Calls that waited for a proxy connection and never got one (borrow timeout or deadline).
    pub timed_out: u64,
    /// Waiting calls dropped because their sandbox was destroyed.
    pub abandoned: u64,
    /// Calls waiting now, and the most at once.
    pub queued: u64,
    pub peak_queued: u64,
    /// Started calls that had to wait, their total and longest wait.
    pub waited: u64,
    pub total_wait_ns: u64,
    pub max_wait_ns: u64,
    /// Database connections open now (per-sandbox) or borrowed now (proxy), and the most at once.
    pub connections: u32,
    pub peak_connections: u32,
    /// Proxy model: client connections (sandboxes connected to the proxy) now, and the most at once.
    pub client_connections: u32,
    pub peak_client_connections: u32,
}

impl ServiceStats {
    /// Whether every call is accounted for exactly once.
    pub fn balanced(&self) -> bool {
        self.calls == self.started + self.refused + self.timed_out + self.abandoned + self.queued
    }
}

/// A configuration the model refuses (the scenario parser reports these with file positions first).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceConfigError {
    #[error("service `{name}`: error_rate {value} is outside 0–1")]
    ErrorRate { name: String, value: f64 },
    #[error("service `{name}`: the connection limit must be at least 1")]
    ZeroLimit { name: String },
    #[error("service `{name}`: the proxy pool must have at least 1 connection")]
    ZeroPool { name: String },
    #[error("service `{name}` is defined twice")]
    Duplicate { name: String },
}

/// A call waiting for a proxy connection; its latency and error were drawn when it was made.
#[derive(Debug)]
struct Waiting {
    sandbox: SandboxId,
    enqueued_ns: u64,
    give_up_ns: u64,
    give_up: Refusal,
    latency_ns: u64,
    error: bool,
}

#[derive(Debug, Default)]
struct ServiceState {
    /// Sandboxes holding a connection (per-sandbox) or a client connection (proxy).
    connected: BTreeSet<SandboxId>,
    /// Proxy: borrowed pool connections as `(completes_at_ns, call)`, soonest first.
    borrowed: BTreeSet<(u64, u64)>,
    /// Proxy: waiting calls by call id (= FIFO order).
    waiting: BTreeMap<u64, Waiting>,
    /// Proxy: waiting calls as `(give_up_ns, call)`, soonest first.
    give_ups: BTreeSet<(u64, u64)>,
    stats: ServiceStats,
}

/// The downstream services of a run.
#[derive(Debug)]
pub struct Services {
    specs: Vec<ServiceSpec>,
    rngs: Vec<StdRng>,
    state: Vec<ServiceState>,
    next_call: u64,
    /// The earliest `SetTimer` asked for and not yet delivered.
    armed_ns: Option<u64>,
    out: VecDeque<ServiceAction>,
}

impl Services {
    /// Checks the specs; each service gets its own RNG derived from `seed` and its index, so adding a service does
    /// not change the draws of the others.
    pub fn new(specs: Vec<ServiceSpec>, seed: u64) -> Result<Self, ServiceConfigError> {
        for (i, spec) in specs.iter().enumerate() {
            let name = spec.name.clone();
            if !(0.0..=1.0).contains(&spec.error_rate) {
                return Err(ServiceConfigError::ErrorRate {
                    name,
                    value: spec.error_rate,
                });
            }
            match spec.connections {
                Some(ConnectionModel::PerSandbox { limit: 0 }) => {
                    return Err(ServiceConfigError::ZeroLimit { name });
                }
                Some(ConnectionModel::Proxy { pool: 0, .. }) => {
                    return Err(ServiceConfigError::ZeroPool { name });
                }
                Some(ConnectionModel::Proxy {
                    max_client_connections: Some(0),
                    ..
                }) => return Err(ServiceConfigError::ZeroLimit { name }),
                _ => {}
            }
            if specs[..i].iter().any(|s| s.name == spec.name) {
                return Err(ServiceConfigError::Duplicate { name });
            }
        }
        let rngs = (0..specs.len() as u64)
            .map(|i| StdRng::seed_from_u64(seed ^ (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        let state = specs.iter().map(|_| ServiceState::default()).collect();
        Ok(Services {
            specs,
            rngs,
            state,
            next_call: 0,
            armed_ns: None,
            out: VecDeque::new(),
        })
    }

    /// The service named `name` (the ABI names services; the driver resolves them here).
    pub fn find(&self, name: &str) -> Option<ServiceId> {
        self.specs.iter().position(|s| s.name == name)
    }

    pub fn spec(&self, service: ServiceId) -> &ServiceSpec {
        &self.specs[service]
    }

    pub fn len(&self) -> usize {
        self.specs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The message for a call to a service that is not declared, e.g. "no service named `cache` (declared: db)".
    pub fn unknown_service_message(&self, name: &str) -> String {
        let declared: Vec<&str> = self.specs.iter().map(|s| s.name.as_str()).collect();
        format!(
            "no service named `{name}` (declared: {})",
            declared.join(", ")
        )
    }

    /// The message of a call to `service` answered with an error: "service `db` returned an error".
    pub fn error_message(&self, service: ServiceId) -> String {
        format!("service `{}` returned an error", self.specs[service].name)
    }

    /// `service`'s database connections open (per-sandbox) or borrowed (proxy) at `at_ns`, and calls waiting, read
    /// without changing anything. Exact for any `at_ns` at or after the last input and before the next one: between
    /// inputs, borrowed connections only come back (a waiting call would have armed a timer, an input).
    pub fn load_at(&self, service: ServiceId, at_ns: u64) -> (u32, u32) {
        let st = &self.state[service];
        match self.specs[service].connections {
            Some(ConnectionModel::Proxy { .. }) => {
                let borrowed = st.borrowed.range((at_ns.saturating_add(1), 0)..).count();
                (borrowed as u32, st.waiting.len() as u32)
            }
            Some(ConnectionModel::PerSandbox { .. }) => (st.connected.len() as u32, 0),
            None => (0, 0),
        }
    }

    /// Counts of `service` as of the last input.
    pub fn stats(&self, service: ServiceId) -> &ServiceStats {
        &self.state[service].stats
    }

    /// `sandbox` calls `service`; a waiting call gives up at `deadline_ns` at the latest (the invocation's deadline).
    pub fn call(
        &mut self,
        now_ns: u64,
        service: ServiceId,
        sandbox: SandboxId,
        deadline_ns: u64,
    ) -> CallDecision {
        self.advance(now_ns);
        let decision = self.decide(now_ns, service, sandbox, deadline_ns);
        self.arm(now_ns);
        decision
    }

    fn decide(
        &mut self,
        now_ns: u64,
        service: ServiceId,
        sandbox: SandboxId,
        deadline_ns: u64,
    ) -> CallDecision {
        let call = CallId(self.next_call);
        self.next_call += 1;
        // Drawn for every call, refused or not, so connection models see the same latencies (module doc).
        let spec = &self.specs[service];
        let rng = &mut self.rngs[service];
        let latency_ms = spec.latency_ms.sample(rng).max(0.0);
        let error = rng.random::<f64>() < spec.error_rate;
        let latency_ns = (latency_ms * 1_000_000.0) as u64;
        let at_ns = now_ns.saturating_add(latency_ns);
        let model = spec.connections;
        let st = &mut self.state[service];
        st.stats.calls += 1;
        match model {
            None => Self::start(st, call.0, at_ns, error, false),
            Some(ConnectionModel::PerSandbox { limit }) => {
                if let Err(refusal) =
                    Self::connect(st, sandbox, limit, Refusal::TooManyConnections { limit })
                {
                    return Self::refuse(st, call, refusal);
                }
                st.stats.connections = st.connected.len() as u32;
                st.stats.peak_connections = st.stats.peak_connections.max(st.stats.connections);
                Self::start(st, call.0, at_ns, error, false)
            }
            Some(ConnectionModel::Proxy {
                pool,
                max_client_connections,
                borrow_timeout_ns,
            }) => {
                if let Some(limit) = max_client_connections
                    && let Err(refusal) = Self::connect(
                        st,
                        sandbox,
                        limit,
                        Refusal::TooManyClientConnections { limit },
                    )
                {
                    return Self::refuse(st, call, refusal);
                }
                st.connected.insert(sandbox);
                st.stats.client_connections = st.connected.len() as u32;
                st.stats.peak_client_connections = st
                    .stats
                    .peak_client_connections
                    .max(st.stats.client_connections);
                if st.borrowed.len() < pool as usize {
                    Self::start(st, call.0, at_ns, error, true)
                } else {
                    let (give_up_ns, give_up) = if borrow_timeout_ns != 0
                        && now_ns.saturating_add(borrow_timeout_ns) < deadline_ns
                    {
                        (now_ns + borrow_timeout_ns, Refusal::BorrowTimeout)
                    } else {
                        (deadline_ns, Refusal::DeadlineExceeded)
                    };
                    if give_up_ns <= now_ns {
                        st.stats.timed_out += 1;
                        return CallDecision::Refused {
                            call,
                            refusal: give_up,
                        };
                    }
                    st.waiting.insert(
                        call.0,
                        Waiting {
                            sandbox,
                            enqueued_ns: now_ns,
                            give_up_ns,
                            give_up,
                            latency_ns,
                            error,
                        },
                    );
                    st.give_ups.insert((give_up_ns, call.0));
                    st.stats.queued += 1;
                    st.stats.peak_queued = st.stats.peak_queued.max(st.stats.queued);
                    CallDecision::Queued { call }
                }
            }
        }
    }

    /// `sandbox` was destroyed: its connections close and its waiting calls are dropped.
    pub fn sandbox_destroyed(&mut self, now_ns: u64, sandbox: SandboxId) {
        self.advance(now_ns);
        for (service, st) in self.state.iter_mut().enumerate() {
            if !st.connected.remove(&sandbox) {
                continue;
            }
            match self.specs[service].connections {
                Some(ConnectionModel::PerSandbox { .. }) => {
                    st.stats.connections = st.connected.len() as u32;
                }
                Some(ConnectionModel::Proxy { .. }) => {
                    st.stats.client_connections = st.connected.len() as u32;
                }
                None => {}
            }
            let dropped: Vec<(u64, u64)> = st
                .waiting
                .iter()
                .filter(|(_, w)| w.sandbox == sandbox)
                .map(|(id, w)| (*id, w.give_up_ns))
                .collect();
            for (id, give_up_ns) in dropped {
                st.waiting.remove(&id);
                st.give_ups.remove(&(give_up_ns, id));
                st.stats.queued -= 1;
                st.stats.abandoned += 1;
            }
        }
        self.arm(now_ns);
    }

    /// A `SetTimer` came due: waiting calls whose connection came free start, those past their limit give up. Also
    /// callable at any time to bring [`Services::stats`] up to `now_ns` (connections returned since the last input
    /// are counted only then), e.g. before sampling a timeline.
    pub fn timer(&mut self, now_ns: u64) {
        if self.armed_ns.is_some_and(|a| a <= now_ns) {
            self.armed_ns = None;
        }
        self.advance(now_ns);
        self.arm(now_ns);
    }

    #[inline]
    pub fn poll_action(&mut self) -> Option<ServiceAction> {
        self.out.pop_front()
    }

    /// Opens `sandbox`'s connection unless it has one or `limit` are open.
    fn connect(
        st: &mut ServiceState,
        sandbox: SandboxId,
        limit: u32,
        refusal: Refusal,
    ) -> Result<(), Refusal> {
        if st.connected.contains(&sandbox) {
            return Ok(());
        }
        if st.connected.len() >= limit as usize {
            return Err(refusal);
        }
        st.connected.insert(sandbox);
        Ok(())
    }

    fn refuse(st: &mut ServiceState, call: CallId, refusal: Refusal) -> CallDecision {
        st.stats.refused += 1;
        CallDecision::Refused { call, refusal }
    }

    /// The call runs now; through a proxy it borrows a pool connection until `at_ns`.
    fn start(
        st: &mut ServiceState,
        call: u64,
        at_ns: u64,
        error: bool,
        borrow: bool,
    ) -> CallDecision {
        st.stats.started += 1;
        st.stats.errors += u64::from(error);
        if borrow {
            st.borrowed.insert((at_ns, call));
            st.stats.connections = st.borrowed.len() as u32;
            st.stats.peak_connections = st.stats.peak_connections.max(st.stats.connections);
        }
        CallDecision::Completes {
            call: CallId(call),
            at_ns,
            error,
        }
    }

    /// Plays every proxy event up to `now_ns` in time order: returns of borrowed connections (each handed to the
    /// oldest waiting call) and give-ups (a give-up wins a tie with a return: a call starts only before its limit).
    fn advance(&mut self, now_ns: u64) {
        for (service, st) in self.state.iter_mut().enumerate() {
            loop {
                let next_return = st.borrowed.first().map(|&(t, _)| t);
                let next_give_up = st.give_ups.first().copied();
                match (next_give_up, next_return) {
                    (Some((t, id)), r) if t <= now_ns && r.is_none_or(|r| t <= r) => {
                        st.give_ups.remove(&(t, id));
                        if let Some(w) = st.waiting.remove(&id) {
                            st.stats.queued -= 1;
                            st.stats.timed_out += 1;
                            self.out.push_back(ServiceAction::TimedOut {
                                call: CallId(id),
                                service,
                                sandbox: w.sandbox,
                                at_ns: t,
                                waited_ns: t - w.enqueued_ns,
                                refusal: w.give_up,
                            });
                        }
                    }
                    (_, Some(r)) if r <= now_ns => {
                        st.borrowed.pop_first();
                        if let Some((id, w)) = st.waiting.pop_first() {
                            st.give_ups.remove(&(w.give_up_ns, id));
                            st.stats.queued -= 1;
                            let waited_ns = r - w.enqueued_ns;
                            st.stats.waited += 1;
                            st.stats.total_wait_ns += waited_ns;
                            st.stats.max_wait_ns = st.stats.max_wait_ns.max(waited_ns);
                            let completes_at_ns = r.saturating_add(w.latency_ns);
                            Self::start(st, id, completes_at_ns, w.error, true);
                            self.out.push_back(ServiceAction::Started {
                                call: CallId(id),
                                service,
                                sandbox: w.sandbox,
                                at_ns: r,
                                completes_at_ns,
                                waited_ns,
                                error: w.error,
                            });
                        }
                        st.stats.connections = st.borrowed.len() as u32;
                    }
                    _ => break,
                }
            }
        }
    }

    /// Asks for a timer at the next instant a waiting call starts or gives up, unless an earlier one is pending.
    fn arm(&mut self, now_ns: u64) {
        let due = self
            .state
            .iter()
            .filter(|st| !st.waiting.is_empty())
            .filter_map(|st| {
                let give_up = st.give_ups.first().map(|&(t, _)| t);
                let ret = st.borrowed.first().map(|&(t, _)| t);
                give_up.into_iter().chain(ret).min()
            })
            .min();
        if let Some(at_ns) = due
            && self.armed_ns.is_none_or(|a| at_ns < a)
        {
            let at_ns = at_ns.max(now_ns);
            self.armed_ns = Some(at_ns);
            self.out.push_back(ServiceAction::SetTimer { at_ns });
        }
    }
}

#[cfg(test)]
#[path = "services_tests.rs"]
mod tests;
