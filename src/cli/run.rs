//! `lambda-sim run` and `lambda-sim validate`: replay a scenario and report; or only check it.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{CliError, EngineArgs};
use crate::scenario::{self, Mode, Scenario};
use crate::sim::{RunOptions, run_virtual};

#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write an HdrHistogram interval log here.
    #[arg(long, value_name = "FILE")]
    hlog: Option<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the scenario's mode.
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// Print no summary (files are still written).
    #[arg(long, short)]
    quiet: bool,
    /// Directory for precompiled modules [default: $LAMBDA_SIM_CACHE_DIR or ~/.cache/lambda-sim].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ModeArg {
    Virtual,
    Realtime,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ValidateArgs {
    /// The scenario file(s) to check.
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
}

fn load(path: &std::path::Path) -> Result<Scenario, CliError> {
    scenario::load(path).map_err(|e| CliError::usage(e.to_string()))
}

pub(crate) fn validate(args: ValidateArgs) -> Result<ExitCode, CliError> {
    for path in &args.scenarios {
        let s = load(path)?;
        println!(
            "{}: ok — \"{}\", {} function(s), {} traffic phase(s), {} s simulated, seed {}",
            path.display(),
            s.simulation.name,
            s.functions.len(),
            s.traffic.len(),
            s.simulation.duration_ns as f64 / 1e9,
            s.simulation.seed
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(args: RunArgs) -> Result<ExitCode, CliError> {
    let mut scenario = load(&args.scenario)?;
    if let Some(seed) = args.seed {
        scenario.simulation.seed = seed;
    }
    match args.mode {
        Some(ModeArg::Virtual) => scenario.simulation.mode = Mode::Virtual,
        Some(ModeArg::Realtime) => scenario.simulation.mode = Mode::Realtime,
        None => {}
    }
    let engine_args = EngineArgs {
        ns_per_fuel: scenario.simulation.ps_per_fuel as f64 / 1000.0,
        cache_dir: args.cache_dir.clone(),
    };
    let deployment = crate::deploy::deploy(&scenario, &engine_args.cache())
        .map_err(|e| CliError::usage(e.to_string()))?;
    let report = run_virtual(
        &scenario,
        &deployment,
        &RunOptions {
            progress: !args.quiet,
        },
    )
    .map_err(|e| CliError::internal(e.to_string()))?;
    super::write_reports(&report, args.json.as_deref(), args.hlog.as_deref())?;
    if !args.quiet {
        print!("{}", report.summary());
    }
    if !report.conservation_ok() {
        return Err(CliError::internal(
            "conservation check failed: arrivals differ from the sum of outcomes (a lambda-sim bug; please report it)",
        ));
    }
    Ok(ExitCode::SUCCESS)
}
