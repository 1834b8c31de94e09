//! `lambda-sim sweep`: run a grid of settings on a scenario's traffic and pick an optimum (see [`crate::lab::sweep`]).

use std::path::PathBuf;
use std::process::ExitCode;

use super::CliError;
use crate::lab::compare::Comparison;
use crate::lab::sweep::{SetSpec, Strategy, optimum, points};
use crate::report::html::SweepPoint;
use crate::scenario::Mode;

#[derive(clap::Args, Debug)]
pub(crate) struct SweepArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// A setting and its values, e.g. `function.api.memory_mb=128,512,1769,3008`; keys as in a [[variant]]
    /// (function.<name>.<key>, account.<key>, traffic.<index>.<key>, queue.<name>.<key>,
    /// service.<name>.<key>, event_source.<index>.<key>, trace.<key>). Several --set form a grid.
    #[arg(long = "set", value_name = "KEY=V1,V2,…", required = true)]
    sets: Vec<String>,
    /// What the optimum minimises: cost, p99 latency (speed), or a weighted mix of both (balanced).
    #[arg(long, value_enum, default_value_t = StrategyArg::Balanced)]
    strategy: StrategyArg,
    /// For --strategy balanced: the weight of cost against p99, in [0, 1] (1 = cost only, 0 = speed only).
    #[arg(long, default_value_t = 0.5)]
    weight: f64,
    /// Points to run at once [default: the number of cores]. Results do not depend on it.
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
    /// Write every point's report and the optimum as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report (cost vs p99, plots, the table) here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Print nothing but errors (files are still written).
    #[arg(long, short)]
    quiet: bool,
    /// Directory for precompiled modules [default: $LAMBDA_SIM_CACHE_DIR or ~/.cache/lambda-sim].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum StrategyArg {
    Cost,
    Speed,
    Balanced,
}

pub(crate) fn run(args: SweepArgs) -> Result<ExitCode, CliError> {
    crate::guest::set_quiet(args.quiet);
    if !(0.0..=1.0).contains(&args.weight) {
        return Err(CliError::usage(format!(
            "--weight {} is outside the allowed range [0, 1]",
            args.weight
        )));
    }
    let strategy = match args.strategy {
        StrategyArg::Cost => Strategy::Cost,
        StrategyArg::Speed => Strategy::Speed,
        StrategyArg::Balanced => Strategy::Balanced {
            weight: args.weight,
        },
    };
    let specs = args
        .sets
        .iter()
        .map(|s| SetSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::usage(e.to_string()))?;
    let text = std::fs::read_to_string(&args.scenario).map_err(|e| {
        CliError::usage(format!(
            "{}: cannot read scenario file: {e}",
            args.scenario.display()
        ))
    })?;
    let mut variants =
        points(&text, &args.scenario, &specs).map_err(|e| CliError::usage(e.to_string()))?;
    if variants
        .iter()
        .any(|v| v.scenario.simulation.mode == Mode::Realtime)
    {
        return Err(CliError::usage(format!(
            "{}: sweeps run in virtual time only; set mode = \"virtual\" in [simulation]",
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
            what: "points",
            out: None,
        },
    )?;
    let mut comparison = Comparison::new(&runs);
    let best = optimum(&comparison.figures, strategy);
    if let Some(b) = best {
        comparison.marks[b] = Some("optimum".to_string());
    }
    let strategy_text = match strategy {
        Strategy::Cost => "cost".to_string(),
        Strategy::Speed => "speed (p99)".to_string(),
        Strategy::Balanced { weight } => format!("balanced, weight {weight} on cost"),
    };
    let sweep_points: Vec<SweepPoint> = runs
        .iter()
        .zip(&comparison.figures)
        .enumerate()
        .map(|(i, (r, f))| SweepPoint {
            label: r.name.clone(),
            cost_usd: f.cost_usd,
            p99_ms: f.p99_ms,
            cold_pct: f.cold_pct,
            // One swept setting with numbers for values: the points are its values, in order.
            setting: match &specs[..] {
                [one] => one
                    .values
                    .get(i)
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .map(|v| (one.short(), v)),
                _ => None,
            },
            chosen: Some(i) == best,
        })
        .collect();
    let json_extra = format!(
        "\"sweep\": {{\"sets\": {}, \"strategy\": {}, \"optimum\": {}}}",
        serde_json::Value::from(args.sets.clone()),
        serde_json::Value::from(strategy_text.as_str()),
        best.map_or(serde_json::Value::Null, |b| serde_json::Value::from(
            runs[b].name.as_str()
        ))
    );
    let title = format!(
        "lambda-sim · {} · sweep of {} points",
        runs[0].report.scenario,
        runs.len()
    );
    super::lab::write_files(
        &runs,
        &comparison,
        Some(sweep_points),
        &title,
        &json_extra,
        &super::lab::LabFiles {
            json: args.json.as_deref(),
            hlog: None,
            html: args.html.as_deref(),
        },
    )?;
    if !args.quiet {
        print!(
            "{}",
            super::lab::heading(&runs[0].report, &format!("sweep of {} points", runs.len()))
        );
        println!();
        print!("{}", comparison.text());
        println!();
        match best {
            Some(b) => {
                let f = &comparison.figures[b];
                println!(
                    "▶ optimum ({strategy_text}): {} — p99 {:.2} ms, cold starts {:.2} %, cost ${:.6}",
                    runs[b].name, f.p99_ms, f.cold_pct, f.cost_usd
                );
            }
            None => println!("no optimum: the sweep has no points"),
        }
        println!(
            "Δ: change against \"{}\" (points for cold %); points that throttled or failed more than the best are not eligible",
            runs[0].name
        );
    }
    if let Some(bad) = runs.iter().find(|r| !r.report.conservation_ok()) {
        return Err(CliError::internal(format!(
            "point \"{}\": conservation check failed (a lambda-sim bug; please report it)",
            bad.name
        )));
    }
    Ok(ExitCode::SUCCESS)
}
