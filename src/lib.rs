//! lambda-sim: a local simulator of AWS Lambda's execution platform.
//!
//! Handler code compiled to WebAssembly (ABI in `docs/abi.md`) runs in pooled wasmtime sandboxes under Lambda's
//! rules — cold init, warm reuse, concurrency limits and throttling, timeouts, provisioned concurrency,
//! keep-alive, async queues, SQS — while a scenario's traffic is replayed in deterministic virtual time or in real
//! time. The result is a [`RunReport`]: latency percentiles (cold and warm), outcomes, throttles, cost.
//!
//! This page is the library's whole public API: load a [`Scenario`], run it with [`run_virtual`] or
//! [`run_realtime`], read the [`RunReport`].
//!
//! ```no_run
//! let scenario = lambda_sim::Scenario::load("scenarios/spike-throttle.toml")?;
//! let report = lambda_sim::run_virtual(&scenario)?;
//! let orders = report.function("orders").expect("the scenario's function");
//! println!(
//!     "{} cold starts, p99 {:.1} ms, {} throttled",
//!     orders.cold_starts, orders.latency.all.p99, orders.outcomes.throttled
//! );
//! print!("{}", report.summary()); // the table `lambda-sim run` prints
//! std::fs::write("report.json", report.to_json())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The modules below the API are lambda-sim's own — the command line, the drivers, the platform model and the
//! sandboxes (crates `lambda-sim-model` and `lambda-sim-sandbox`) — and are public only so that its tests and
//! benchmarks can reach them: they are not a stable API.

pub use report::{FunctionReport, RunReport};
pub use scenario::{Scenario, ScenarioError};

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario is invalid (the message names the file, line, column and field).
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Its functions' code could not be built, loaded or snapshotted.
    #[error("cannot deploy the scenario's functions")]
    Deploy(#[from] deploy::DeployError),
    /// The run itself failed (lambda-sim's own failure, never a handler's: those are outcomes in the report).
    #[error("the run failed")]
    Run(#[from] sim::SimError),
    /// The real-time driver could not start.
    #[error("cannot start the real-time driver")]
    Runtime(#[source] std::io::Error),
}

impl Scenario {
    /// Loads and checks a scenario file (`scenarios/*.toml`; format in `docs/scenarios.md`). Its `[[variant]]`s, if
    /// any, are ignored: this is the scenario as written.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Scenario, ScenarioError> {
        scenario::load(path.as_ref())
    }
}

/// Deploys `scenario`'s functions (building guest crates, compiling modules through the on-disk code cache) and
/// replays its traffic in virtual time: deterministic, byte for byte, from the scenario and its seed.
pub fn run_virtual(scenario: &Scenario) -> Result<RunReport, Error> {
    let deployment = deploy::deploy(scenario, &sandbox::CodeCache::default_location())?;
    Ok(sim::run_virtual(
        scenario,
        &deployment,
        &sim::RunOptions::default(),
    )?)
}

/// Deploys `scenario`'s functions and replays its traffic in real time (the wall clock; handlers' durations are
/// measured), on a runtime of its own. Blocks until the traffic and the event sources' work are done.
pub fn run_realtime(scenario: &Scenario) -> Result<RunReport, Error> {
    let deployment = deploy::deploy(scenario, &sandbox::CodeCache::default_location())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    Ok(runtime.block_on(live::run_realtime(scenario.clone(), deployment, None))?)
}

#[doc(hidden)]
pub mod api;
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod deploy;
#[doc(hidden)]
pub mod event_shapes;
#[doc(hidden)]
pub mod guest;
#[doc(hidden)]
pub mod import;
#[doc(hidden)]
pub mod lab;
#[doc(hidden)]
pub mod lifecycle;
#[doc(hidden)]
pub mod live;
#[doc(hidden)]
pub mod logfmt;
#[doc(hidden)]
pub mod metrics;
pub mod report;
pub mod scenario;
#[doc(hidden)]
pub mod sim;
#[doc(hidden)]
pub mod sources;
#[doc(hidden)]
pub mod traces;
#[doc(hidden)]
pub mod traffic;

#[doc(hidden)]
pub use lambda_sim_model as model;
#[doc(hidden)]
pub use lambda_sim_model::{cpu, limits};
#[doc(hidden)]
pub use lambda_sim_sandbox as sandbox;
