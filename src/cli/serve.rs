//! `lambda-sim serve`: the Lambda API on a local port, over the real-time driver.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::{CliError, EngineArgs};
use crate::live::LiveService;
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
    /// Directory for precompiled modules.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Directory for async destinations' records (`<DIR>/destinations/<name>.jsonl`)
    /// [default: lambda-sim-out/<scenario name> when the scenario has destinations].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
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
    let scenario = match (&args.scenario, args.functions.is_empty()) {
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
    let _ = tracing_subscriber::fmt()
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
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| CliError::usage(format!("--listen {}: {e}", args.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::internal(e.to_string()))?;
        let names: Vec<_> = scenario.functions.iter().map(|f| f.name.clone()).collect();
        let out = super::out_dir(args.out.as_deref(), &scenario);
        let service = LiveService::start_with_output(scenario, deployment, out);
        eprintln!(
            "lambda-sim: serving {} on http://{addr} (Ctrl-C to stop)",
            names.join(", ")
        );
        tracing::info!(%addr, functions = names.len(), "listening");
        crate::api::serve(service.clone(), listener, shutdown_signal())
            .await
            .map_err(|e| CliError::internal(format!("server error: {e}")))?;
        // Let in-flight invocations finish, within a bound.
        let deadline = Instant::now() + Duration::from_secs(30);
        while service.in_flight() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let report = service.finish_run();
        super::write_reports(&report, args.json.as_deref(), args.hlog.as_deref())?;
        print!("{}", report.summary());
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    eprintln!("lambda-sim: shutting down");
}
