//! The `lambda-sim` command line: argument parsing and exit codes. Each subcommand lives in its own module.
//!
//! Exit codes: 0 success, 1 a function error (the simulated function failed), 2 a usage, configuration or load
//! error (the user's input is wrong; the message names what and why).

mod calibrate;
mod import;
mod import_logs;
mod invoke;
mod lab;
mod run;
mod serve;
mod sweep;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cpu::DEFAULT_PS_PER_FUEL;
use crate::sandbox::{CodeCache, EngineOptions, SandboxEngine};

#[derive(Parser)]
#[command(
    name = "lambda-sim",
    version,
    about = "A local AWS Lambda execution simulator for WebAssembly handlers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Invoke a handler in one sandbox: the first invocation is cold, the rest warm. Prints Lambda's log lines.
    Invoke(invoke::InvokeArgs),
    /// Replay a scenario's traffic against its functions and report latency, cold starts, throttles and cost.
    Run(run::RunArgs),
    /// Run a grid of settings (--set KEY=V1,V2,…) on a scenario's traffic and pick the optimum.
    Sweep(sweep::SweepArgs),
    /// Check scenario files without running them.
    Validate(run::ValidateArgs),
    /// Serve the Lambda API (Invoke and a control-plane subset) for the AWS CLI, boto3 and load generators.
    Serve(serve::ServeArgs),
    /// Measure this machine's cost of one unit of fuel (for virtual CPU time).
    Calibrate(calibrate::CalibrateArgs),
    /// Make a scenario from what you already have: an AWS SAM / CloudFormation template, or Lambda's logs.
    Import(import::ImportArgs),
}

/// Options every command that runs handlers shares.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct EngineArgs {
    /// Virtual CPU cost of one unit of WebAssembly fuel at one full vCPU, in nanoseconds (`lambda-sim calibrate`
    /// measures this machine's).
    #[arg(long, value_name = "NS", default_value_t = DEFAULT_PS_PER_FUEL as f64 / 1000.0)]
    ns_per_fuel: f64,
    /// Directory for precompiled modules [default: $LAMBDA_SIM_CACHE_DIR or ~/.cache/lambda-sim].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

impl EngineArgs {
    /// The default fuel cost, with modules cached in `cache_dir`.
    pub(crate) fn with_cache_dir(cache_dir: Option<PathBuf>) -> Self {
        EngineArgs {
            ns_per_fuel: DEFAULT_PS_PER_FUEL as f64 / 1000.0,
            cache_dir,
        }
    }

    pub(crate) fn ps_per_fuel(&self) -> Result<u64, CliError> {
        if self.ns_per_fuel.is_finite() && self.ns_per_fuel > 0.0 && self.ns_per_fuel <= 1000.0 {
            Ok(((self.ns_per_fuel * 1000.0).round() as u64).max(1))
        } else {
            Err(CliError::usage(format!(
                "--ns-per-fuel {} is outside the allowed range (0, 1000] ns",
                self.ns_per_fuel
            )))
        }
    }

    pub(crate) fn cache(&self) -> CodeCache {
        match &self.cache_dir {
            Some(dir) => CodeCache::on_disk(dir),
            None => CodeCache::default_location(),
        }
    }

    pub(crate) fn engine(&self, max_sandboxes: u32) -> Result<SandboxEngine, CliError> {
        SandboxEngine::new(EngineOptions { max_sandboxes })
            .map_err(|e| CliError::internal(e.to_string()))
    }
}

/// Where a run writes its outputs: `--out`, or `lambda-sim-out/<name>` when the scenario has async destinations.
pub(crate) fn out_dir(
    explicit: Option<&std::path::Path>,
    scenario: &crate::scenario::Scenario,
) -> Option<PathBuf> {
    let has_destinations = scenario.functions.iter().any(|f| {
        f.event_invoke_config.on_success.is_some() || f.event_invoke_config.on_failure.is_some()
    });
    match explicit {
        Some(dir) => Some(dir.to_path_buf()),
        None if has_destinations => Some(default_out_dir(scenario)),
        None => None,
    }
}

/// `lambda-sim-out/<scenario name>`: where a run's records go when no `--out` is given.
pub(crate) fn default_out_dir(scenario: &crate::scenario::Scenario) -> PathBuf {
    PathBuf::from("lambda-sim-out").join(&scenario.simulation.name)
}

/// `--memory-budget-mb`: the range `[simulation] memory_budget_mb` allows.
pub(crate) fn memory_budget_mb(text: &str) -> Result<u64, String> {
    let (min, max) = crate::scenario::MEMORY_BUDGET_MB;
    match text.parse::<i64>() {
        Ok(mb) if (min..=max).contains(&mb) => Ok(mb as u64),
        Ok(mb) => Err(format!("{mb} is outside the allowed range {min}–{max} MB")),
        Err(e) => Err(format!("{text:?} is not a whole number of MB: {e}")),
    }
}

/// Creates output file `path` of option `flag` (`--json`), and the directories it needs.
pub(crate) fn create_output(flag: &str, path: &std::path::Path) -> Result<std::fs::File, CliError> {
    let fail = |e: std::io::Error| CliError::usage(format!("{flag} {}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    std::fs::File::create(path).map_err(fail)
}

/// Writes `bytes` to output file `path` of option `flag`, creating the directories it needs.
pub(crate) fn write_output(
    flag: &str,
    path: &std::path::Path,
    bytes: impl AsRef<[u8]>,
) -> Result<(), CliError> {
    use std::io::Write as _;
    create_output(flag, path)?
        .write_all(bytes.as_ref())
        .map_err(|e| CliError::usage(format!("{flag} {}: {e}", path.display())))
}

/// Writes `--json` and `--hlog` files of a report.
pub(crate) fn write_reports(
    report: &crate::report::RunReport,
    json: Option<&std::path::Path>,
    hlog: Option<&std::path::Path>,
) -> Result<(), CliError> {
    if let Some(path) = json {
        write_output("--json", path, report.to_json())?;
    }
    if let Some(path) = hlog {
        let file = create_output("--hlog", path)?;
        report
            .write_hlog(std::io::BufWriter::new(file))
            .map_err(|e| CliError::usage(format!("--hlog {}: {e}", path.display())))?;
    }
    Ok(())
}

/// A failed command: its message and exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: 2,
            message: message.into(),
        }
    }
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        CliError {
            code: 3,
            message: message.into(),
        }
    }
    /// A usage or configuration error (exit 2), shown with its sources.
    pub(crate) fn usage_of(e: &dyn std::error::Error) -> Self {
        Self::usage(crate::sandbox::error_chain(e))
    }
    /// lambda-sim's own failure (exit 3), shown with its sources.
    pub(crate) fn internal_of(e: &dyn std::error::Error) -> Self {
        Self::internal(crate::sandbox::error_chain(e))
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Invoke(args) => invoke::run(args),
        Command::Run(args) => run::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Validate(args) => run::validate(args),
        Command::Serve(args) => serve::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Import(args) => import::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
