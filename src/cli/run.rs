//! `lambda-sim run` and `lambda-sim validate`: replay a scenario and report; or only check it.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{CliError, EngineArgs};
use crate::lab::compare::Comparison;
use crate::scenario::{self, Mode, Scenario, Variant};
use crate::sim::{RunOptions, run_virtual};

#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write an HdrHistogram interval log here (with variants: one file per variant, named FILE-<variant>).
    #[arg(long, value_name = "FILE")]
    hlog: Option<PathBuf>,
    /// Write a self-contained HTML report (plots and the comparison table) here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Directory for the run's outputs (async destinations' records, as JSON Lines)
    /// [default: lambda-sim-out/<scenario name> when the scenario has destinations].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Variants to run at once [default: the number of cores]. Results do not depend on it.
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the scenario's mode.
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// Host memory the run's live execution environments may hold, MB; a run that would need more stops with an
    /// error naming the function [default: the scenario's memory_budget_mb, or half the machine's memory].
    #[arg(long, value_name = "MB", value_parser = super::memory_budget_mb)]
    memory_budget_mb: Option<u64>,
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
            "{}: ok — \"{}\", {} function(s), {} traffic phase(s), {} s simulated, seed {}{}",
            path.display(),
            s.simulation.name,
            s.functions.len(),
            s.traffic.len(),
            s.simulation.duration_ns as f64 / 1e9,
            s.simulation.seed,
            extras(&s)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What a scenario's trace and services add to its one-line description.
fn extras(s: &scenario::Scenario) -> String {
    let mut out = String::new();
    if let Some(t) = &s.trace {
        out.push_str(&format!(
            "; trace {}: {} function(s), {} invocation(s) in the window",
            t.file.display(),
            t.functions.len(),
            t.invocations
        ));
        if t.clamped_rows > 0 {
            out.push_str(&format!(
                " ({} row(s) longer than 900 s cut to 900 s: they time out)",
                t.clamped_rows
            ));
        }
    }
    if !s.services.is_empty() {
        let names: Vec<&str> = s.services.iter().map(|x| x.name.as_str()).collect();
        out.push_str(&format!("; services: {}", names.join(", ")));
    }
    out
}

/// How a run's failure exits: a scenario or a memory budget the run needs more than is a configuration error (2),
/// anything else lambda-sim's own (3).
fn sim_error(e: &crate::sim::SimError) -> CliError {
    use crate::lifecycle::RunError;
    use crate::sim::SimError;
    match e {
        SimError::Scenario(e) => CliError::usage(e.to_string()),
        SimError::Run(RunError::MemoryBudget(e)) => CliError::usage(e.to_string()),
        e => CliError::internal_of(e),
    }
}

pub(crate) fn run(args: RunArgs) -> Result<ExitCode, CliError> {
    crate::guest::set_quiet(args.quiet);
    let file = scenario::load_file(&args.scenario).map_err(|e| CliError::usage(e.to_string()))?;
    if !file.variants.is_empty() {
        return run_variants(args, file.variants);
    }
    let mut scenario = file.base;
    if let Some(seed) = args.seed {
        scenario.simulation.seed = seed;
        scenario.simulation.seed_given = true;
    }
    if let Some(mb) = args.memory_budget_mb {
        scenario.simulation.memory_budget_mb = Some(mb);
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
        .map_err(|e| CliError::usage_of(&e))?;
    let out = super::out_dir(args.out.as_deref(), &scenario);
    if scenario.trace.is_some() && !args.quiet {
        eprintln!(
            "lambda-sim: replaying{}",
            extras(&scenario).trim_start_matches(';')
        );
    }
    let report = if scenario.simulation.mode == Mode::Realtime {
        if !args.quiet {
            eprintln!(
                "lambda-sim: running \"{}\" in real time ({} s of traffic)…",
                scenario.simulation.name,
                scenario.simulation.duration_ns as f64 / 1e9
            );
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::internal(format!("cannot start the async runtime: {e}")))?;
        runtime
            .block_on(crate::live::run_realtime(scenario, deployment, out.clone()))
            .map_err(|e| sim_error(&e))?
    } else {
        let progress = (!args.quiet)
            .then(|| crate::sim::progress::RunProgress::new(scenario.simulation.duration_ns));
        let _bar = progress
            .clone()
            .map(|p| crate::sim::progress::Display::start(vec![p], "runs"));
        run_virtual(
            &scenario,
            &deployment,
            &RunOptions {
                progress,
                out_dir: out.clone(),
            },
        )
        .map_err(|e| sim_error(&e))?
    };
    if let (Some(dir), false) = (&out, args.quiet) {
        eprintln!(
            "lambda-sim: async destination records (if any) are in {}",
            dir.join("destinations").display()
        );
    }
    super::write_reports(&report, args.json.as_deref(), args.hlog.as_deref())?;
    if let Some(path) = &args.html {
        let input = crate::report::html::HtmlInput {
            title: format!("lambda-sim · {}", report.scenario),
            variants: vec![(report.scenario.clone(), &report)],
            table: None,
            sweep: None,
        };
        super::write_output("--html", path, crate::report::html::render(&input))?;
    }
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

/// `run` on a file with `[[variant]]`s: every variant on the same traffic, in parallel, then the comparison.
fn run_variants(args: RunArgs, mut variants: Vec<Variant>) -> Result<ExitCode, CliError> {
    let realtime = match args.mode {
        Some(m) => m == ModeArg::Realtime,
        None => variants
            .iter()
            .any(|v| v.scenario.simulation.mode == Mode::Realtime),
    };
    if realtime {
        return Err(CliError::usage(format!(
            "{}: variants run in virtual time only (a real-time run of each would take the scenario's duration per variant); use --mode virtual",
            args.scenario.display()
        )));
    }
    let runs = super::lab::run_variants(
        &mut variants,
        &super::lab::LabOptions {
            seed: args.seed,
            jobs: args.jobs,
            cache_dir: args.cache_dir.clone(),
            quiet: args.quiet,
            what: "variants",
            out: Some(args.out.as_deref()),
        },
    )?;
    let comparison = Comparison::new(&runs);
    let title = format!(
        "lambda-sim · {} · {} variants",
        runs[0].report.scenario,
        runs.len()
    );
    super::lab::write_files(
        &runs,
        &comparison,
        None,
        &title,
        "",
        &super::lab::LabFiles {
            json: args.json.as_deref(),
            hlog: args.hlog.as_deref(),
            html: args.html.as_deref(),
        },
    )?;
    if !args.quiet {
        print!(
            "{}",
            super::lab::heading(&runs[0].report, &format!("{} variants", runs.len()))
        );
        println!();
        print!("{}", super::lab::overrides(&runs));
        println!();
        print!("{}", comparison.text());
        println!();
        println!(
            "Δ: change against \"{}\" (points for cold %); prices: us-east-1 tier 1, no free tier",
            runs[0].name
        );
    }
    if let Some(bad) = runs.iter().find(|r| !r.report.conservation_ok()) {
        return Err(CliError::internal(format!(
            "variant \"{}\": conservation check failed: arrivals differ from the sum of outcomes (a lambda-sim bug; please report it)",
            bad.name
        )));
    }
    Ok(ExitCode::SUCCESS)
}
