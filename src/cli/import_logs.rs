//! `lambda-sim import logs`: Lambda's CloudWatch logs → arrivals, a profile per function, and a replay scenario.

use std::path::PathBuf;
use std::process::ExitCode;

use super::CliError;
use crate::import::logs::{self, LogsOptions};

#[derive(clap::Args, Debug)]
pub(crate) struct LogsArgs {
    /// Log files: CloudWatch Logs as text (an S3 export, `aws logs tail`, `sam logs`), Lambda's JSON log format,
    /// or the JSON `aws logs filter-log-events` / `get-log-events` print; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Directory for arrivals/, timeline/, profile.json and scenario.toml
    /// [default: lambda-sim-out/<the first file's name>].
    #[arg(long, short, value_name = "DIR")]
    output: Option<PathBuf>,
    /// The function the events belong to when nothing in them says [default: each file's name].
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// How far out of time order one file's events may be (log streams interleaved), e.g. 30s.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = window)]
    reorder_window: u64,
}

fn window(text: &str) -> Result<u64, String> {
    let d = humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e}"))?;
    if d.as_secs() > 3600 {
        return Err(format!("{text:?} is outside the allowed range 0–1h"));
    }
    Ok(d.as_nanos() as u64)
}

pub(crate) fn run(args: LogsArgs) -> Result<ExitCode, CliError> {
    let command = std::iter::once("lambda-sim".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let output = args.output.clone().unwrap_or_else(|| {
        let first = args
            .files
            .first()
            .map(PathBuf::as_path)
            .unwrap_or(std::path::Path::new("-"));
        PathBuf::from("lambda-sim-out").join(logs::default_function(first))
    });
    let options = LogsOptions {
        out_dir: output.clone(),
        function: args.function,
        reorder_window_ns: args.reorder_window,
        stand_in: super::import::stand_in_code(),
        command,
    };
    let r = logs::import(&args.files, &options).map_err(|e| CliError::usage_of(&e))?;
    for why in &r.stopped {
        eprintln!("warning: stopped reading {why}; the events before it were imported");
    }
    let c = &r.counts;
    let bytes: u64 = r.files.iter().map(|(_, f)| f.bytes).sum();
    let lines: u64 = r.files.iter().map(|(_, f)| f.lines).sum();
    let malformed: u64 = r.files.iter().map(|(_, f)| f.malformed).sum();
    let late: u64 = r.files.iter().map(|(_, f)| f.late).sum();
    println!(
        "read {} file(s), {:.1} MB, {lines} lines/events: {} START, {} REPORT",
        r.files.len(),
        bytes as f64 / 1e6,
        c.starts,
        c.reports
    );
    for (what, n) in [
        ("malformed platform lines (cut short or garbled)", malformed),
        (
            "START lines whose REPORT never came (runtime stopped, or the log ends)",
            c.missing_reports,
        ),
        (
            "REPORT lines whose START is not in the logs",
            c.reports_without_start,
        ),
        ("repeated START lines", c.duplicate_starts),
        (
            "START lines without a time (counted, not replayed)",
            c.untimed_starts,
        ),
        (
            "events later than the reorder window (moved up to it)",
            late,
        ),
    ] {
        if n > 0 {
            println!("  {n} {what}");
        }
    }
    println!(
        "{:<24} {:>11} {:>11} {:>8} {:>12} {:>12} {:>6}",
        "function", "invocations", "cold starts", "cold %", "p50 ms", "p99 ms", "peak"
    );
    for f in &r.functions {
        println!(
            "{:<24} {:>11} {:>11} {:>8.2} {:>12.2} {:>12.2} {:>6}",
            f.name,
            f.invocations,
            f.cold_starts,
            100.0 * f.cold_starts as f64 / f.invocations.max(1) as f64,
            f.duration_p50_ms,
            f.duration_p99_ms,
            f.peak_concurrency
        );
    }
    let dir = output.display();
    if r.functions.iter().any(|f| f.invocations > 0) {
        println!("wrote {dir}/profile.json, {dir}/scenario.toml, {dir}/arrivals/, {dir}/timeline/");
        println!("replay: lambda-sim run {dir}/scenario.toml");
    } else {
        println!("wrote {dir}/profile.json (no timed START lines: nothing to replay)");
    }
    Ok(ExitCode::SUCCESS)
}
