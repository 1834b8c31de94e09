//! `lambda-sim serve`: the Lambda API on a local port, over the real-time driver.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::{CliError, EngineArgs};
use crate::live::{LiveService, Shutdown};
use crate::scenario::{self, Scenario};

#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    /// A scenario whose functions and account settings to serve (its traffic is ignored).
    scenario: Option<PathBuf>,
    /// Serve a function without a scenario: NAME=PATH (a guest crate or .wasm/.wat). Repeatable.
    #[arg(long = "function", value_name = "NAME=PATH")]
    functions: Vec<String>,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: String,
    /// Host memory the live execution environments may hold, MB; a cold start that would need more gets a 500
    /// naming the function [default: the scenario's memory_budget_mb, or half the machine's memory].
    #[arg(long, value_name = "MB", value_parser = super::memory_budget_mb)]
    memory_budget_mb: Option<u64>,
    /// Memory size of `--function` functions, MB.
    #[arg(long, default_value_t = 128)]
    memory: u64,
    /// Timeout of `--function` functions, seconds.
    #[arg(long, default_value_t = 3.0)]
    timeout: f64,
    /// On shutdown, write the JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// On shutdown, write an HdrHistogram interval log here.
    #[arg(long, value_name = "FILE")]
    hlog: Option<PathBuf>,
    /// Seed of request ids and of the handlers' randomness. Without it (and without `[simulation] seed` in the
    /// scenario) every start draws a fresh one, so request ids never repeat across restarts; the log says which.
    #[arg(long)]
    seed: Option<u64>,
    /// Directory for precompiled modules.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Directory for records: async destinations' (`<DIR>/destinations/<name>.jsonl`) and, on shutdown, the async
    /// events not processed (`<DIR>/unprocessed-events/<function>.jsonl`) [default: lambda-sim-out/<scenario name>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Seconds a client has to send a whole request head (from its first byte); then the connection is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = seconds)]
    header_timeout: f64,
    /// Seconds a client has to send a whole request body (after its head); then Invoke answers 408.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = seconds)]
    body_timeout: f64,
    /// Seconds a keep-alive connection may sit with no request before it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = seconds)]
    idle_timeout: f64,
    /// On SIGTERM or Ctrl-C: seconds to finish what is running before it is cut off. Within this bound the server
    /// stops accepting, answers the requests it is serving and lets running invocations end; async events still
    /// queued are not started. At the bound (or at a second signal) every invocation still running is counted as
    /// `cut_at_shutdown`, every async event not ended is written to `<out>/unprocessed-events/<function>.jsonl` with
    /// condition `SimulatorShutdown`, the report is printed, and lambda-sim exits.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = seconds)]
    shutdown_timeout: f64,
}

/// A number of seconds: finite, from 0 to a day.
fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Ok(s),
        Ok(s) => Err(format!("{s} is out of range: give 0 to 86400 seconds")),
        Err(e) => Err(format!("{text:?} is not a number of seconds: {e}")),
    }
}

/// Builds a scenario for `--function` entries with Lambda's defaults.
fn scenario_from_functions(args: &ServeArgs) -> Result<Scenario, CliError> {
    let mut text = String::from("[simulation]\nname = \"serve\"\nduration = \"3650d\"\n");
    for f in &args.functions {
        let Some((name, path)) = f.split_once('=') else {
            return Err(CliError::usage(format!(
                "--function {f:?}: expected NAME=PATH, e.g. hello=functions/hello"
            )));
        };
        text.push_str(&format!(
            "\n[[function]]\nname = {}\ncode = {}\nmemory_mb = {}\ntimeout = {}\n",
            toml_str(name),
            toml_str(path),
            args.memory,
            args.timeout
        ));
    }
    scenario::parse(&text, std::path::Path::new("--function"))
        .map_err(|e| CliError::usage(e.to_string()))
}

fn toml_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

pub(crate) fn run(args: ServeArgs) -> Result<ExitCode, CliError> {
    let mut scenario = match (&args.scenario, args.functions.is_empty()) {
        (Some(path), true) => scenario::load(path).map_err(|e| CliError::usage(e.to_string()))?,
        (None, false) => scenario_from_functions(&args)?,
        (Some(_), false) => {
            return Err(CliError::usage(
                "give a scenario or --function NAME=PATH, not both",
            ));
        }
        (None, true) => {
            return Err(CliError::usage(
                "nothing to serve: give a scenario or --function NAME=PATH",
            ));
        }
    };
    if let Some(mb) = args.memory_budget_mb {
        scenario.simulation.memory_budget_mb = Some(mb);
    }
    if let Some(seed) = args.seed {
        scenario.simulation.seed = seed;
    } else if !scenario.simulation.seed_given {
        // Real time is not reproducible anyway; ids that repeat across restarts would confuse log searches.
        scenario.simulation.seed = rand::random();
    }
    let _ = tracing_subscriber::fmt()
        // Colour only on a terminal: a log redirected to a file stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let engine_args = EngineArgs {
        ns_per_fuel: scenario.simulation.ps_per_fuel as f64 / 1000.0,
        cache_dir: args.cache_dir.clone(),
    };
    let deployment = crate::deploy::deploy(&scenario, &engine_args.cache())
        .map_err(|e| CliError::usage_of(&e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::internal(format!("cannot start the async runtime: {e}")))?;
    let timeouts = crate::api::HttpTimeouts {
        header_read: Duration::from_secs_f64(args.header_timeout),
        body_read: Duration::from_secs_f64(args.body_timeout),
        idle: Duration::from_secs_f64(args.idle_timeout),
    };
    let bound = Duration::from_secs_f64(args.shutdown_timeout);
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| CliError::usage(format!("--listen {}: {e}", args.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::internal(e.to_string()))?;
        let names: Vec<_> = scenario.functions.iter().map(|f| f.name.clone()).collect();
        let seed = scenario.simulation.seed;
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| super::default_out_dir(&scenario));
        let service = LiveService::start_with_output(scenario, deployment, Some(out));
        eprintln!(
            "lambda-sim: serving {} on http://{addr} (Ctrl-C to stop)",
            names.join(", ")
        );
        tracing::info!(%addr, functions = names.len(), seed, "listening");
        let signals = signal_count();
        let started = Arc::new(OnceLock::new());
        let shutdown = {
            let (signals, started, service) = (signals.clone(), started.clone(), service.clone());
            async move {
                signalled(signals, 1).await;
                let _ = started.set(Instant::now());
                // Queued async events are not started any more; what runs goes on.
                service.close_sources();
            }
        };
        let deadline = {
            let started = started.clone();
            move || started.get().copied().unwrap_or_else(Instant::now) + bound
        };
        let force = {
            let (signals, deadline) = (signals.clone(), deadline.clone());
            async move {
                tokio::select! {
                    () = signalled(signals, 2) => {}
                    () = tokio::time::sleep_until(deadline().into()) => {}
                }
            }
        };
        crate::api::serve(service.clone(), listener, timeouts, shutdown, force).await;
        // Let running invocations end, within the bound (a second signal stops at once).
        while service.in_flight() > 0 && Instant::now() < deadline() && *signals.borrow() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut outstanding = Shutdown::default();
        let mut report = service.finish_run_with(&mut outstanding);
        // `serve` runs until it is stopped: what it simulated is the time it served, not the scenario's duration.
        report.duration_ns = report.end_ns;
        if outstanding.cut_in_flight > 0 {
            eprintln!(
                "lambda-sim: {} invocations still running were cut off (outcome cut_at_shutdown)",
                outstanding.cut_in_flight
            );
        }
        if outstanding.unprocessed_events > 0 {
            let dir = outstanding
                .unprocessed_dir
                .map_or_else(String::new, |d| format!(": {}/<function>.jsonl", d.display()));
            eprintln!(
                "lambda-sim: {} async events were not processed; their records (condition SimulatorShutdown){dir}",
                outstanding.unprocessed_events
            );
        }
        super::write_reports(&report, args.json.as_deref(), args.hlog.as_deref())?;
        print!("{}", report.summary());
        Ok(ExitCode::SUCCESS)
    });
    // Tasks still running (invocations cut off) are dropped with the runtime; none may hold up the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Counts SIGTERM and SIGINT (Ctrl-C) signals: the first starts the shutdown, the second cuts it short.
fn signal_count() -> tokio::sync::watch::Receiver<u32> {
    let (count, receiver) = tokio::sync::watch::channel(0u32);
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        loop {
            #[cfg(unix)]
            let term = async {
                match &mut terminate {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let term = std::future::pending::<()>();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                () = term => {},
            }
            count.send_modify(|n| *n += 1);
            if *count.borrow() == 1 {
                eprintln!("lambda-sim: shutting down (a second signal stops at once)");
            } else {
                eprintln!("lambda-sim: stopping now");
            }
        }
    });
    receiver
}

/// Resolves once `n` signals have arrived.
async fn signalled(mut signals: tokio::sync::watch::Receiver<u32>, n: u32) {
    if signals.wait_for(|&count| count >= n).await.is_err() {
        std::future::pending::<()>().await;
    }
}
