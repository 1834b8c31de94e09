//! Output of lab runs (`run` on a file with `[[variant]]`s, and `sweep`): the comparison on the terminal, and the
//! `--json`, `--hlog` and `--html` files.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::CliError;
use crate::lab::LabRun;
use crate::lab::compare::Comparison;
use crate::report::RunReport;

/// Files a lab run writes.
#[derive(Debug, Default)]
pub(crate) struct LabFiles<'a> {
    pub json: Option<&'a Path>,
    pub hlog: Option<&'a Path>,
    pub html: Option<&'a Path>,
}

/// How a lab runs: options shared by `run` (with variants) and `sweep`.
pub(crate) struct LabOptions<'a> {
    pub seed: Option<u64>,
    pub jobs: Option<usize>,
    pub cache_dir: Option<PathBuf>,
    pub quiet: bool,
    /// "variants" or "points", for the progress line.
    pub what: &'a str,
    /// The run's `--out`: each variant writes under `<out>/<variant>/` (None: sweeps write no records).
    pub out: Option<Option<&'a Path>>,
}

/// Runs every variant in virtual time, in parallel, with `options`; results in variant order.
pub(crate) fn run_variants(
    variants: &mut [crate::scenario::Variant],
    options: &LabOptions<'_>,
) -> Result<Vec<LabRun>, CliError> {
    for v in variants.iter_mut() {
        if let Some(seed) = options.seed {
            v.scenario.simulation.seed = seed;
            v.scenario.simulation.seed_given = true;
        }
    }
    let inputs: Vec<crate::lab::LabInput> = variants
        .iter()
        .map(|v| crate::lab::LabInput {
            name: &v.name,
            overrides: &v.overrides,
            scenario: &v.scenario,
            out_dir: options.out.and_then(|out| {
                super::out_dir(out, &v.scenario).map(|d| d.join(file_safe(&v.name)))
            }),
            progress: (!options.quiet)
                .then(|| crate::sim::progress::RunProgress::new(v.scenario.simulation.duration_ns)),
        })
        .collect();
    let ps_per_fuel = variants
        .first()
        .map_or(crate::cpu::DEFAULT_PS_PER_FUEL, |v| {
            v.scenario.simulation.ps_per_fuel
        });
    let engine_args = super::EngineArgs {
        ns_per_fuel: ps_per_fuel as f64 / 1000.0,
        cache_dir: options.cache_dir.clone(),
    };
    let make_cache = || engine_args.cache();
    let jobs = options.jobs.unwrap_or_else(crate::lab::default_jobs);
    if !options.quiet {
        eprintln!(
            "lambda-sim: running {} {} on the same traffic, {} at a time…",
            inputs.len(),
            options.what,
            jobs.clamp(1, inputs.len().max(1))
        );
    }
    let _bar = (!options.quiet).then(|| {
        crate::sim::progress::Display::start(
            inputs.iter().filter_map(|i| i.progress.clone()).collect(),
            options.what,
        )
    });
    crate::lab::run_all(&inputs, &make_cache, jobs).map_err(|e| match e {
        crate::lab::LabError::Deploy { .. } => CliError::usage_of(&e),
        crate::lab::LabError::Run { .. } => CliError::internal_of(&e),
    })
}

/// The heading of a lab's terminal output.
pub(crate) fn heading(report: &RunReport, what: &str) -> String {
    format!(
        "lambda-sim · scenario \"{}\" · seed {} · {} · {} s simulated · {what}\n",
        report.scenario,
        report.seed,
        report.mode_str(),
        report.duration_ns as f64 / 1e9
    )
}

/// What each run changed, one line each.
pub(crate) fn overrides(runs: &[LabRun]) -> String {
    let mut out = String::new();
    for r in runs {
        let what = if r.overrides.is_empty() {
            "the file as written".to_string()
        } else {
            r.overrides.join(", ")
        };
        let _ = writeln!(out, "  {}: {what}", r.name);
    }
    out
}

/// The JSON document of a lab: `{"scenario", "seed", "runs": [{"name", "overrides", "report"}], …extra}`; each
/// report is [`RunReport::to_json`]'s. `extra` is inserted verbatim as further members (`"key": value, …`).
pub(crate) fn json(runs: &[LabRun], extra: &str) -> String {
    let mut out = String::from("{\n");
    if let Some(first) = runs.first() {
        let _ = writeln!(
            out,
            "  \"scenario\": {},",
            serde_json::Value::from(first.report.scenario.as_str())
        );
        let _ = writeln!(out, "  \"seed\": {},", first.report.seed);
    }
    if !extra.is_empty() {
        let _ = writeln!(out, "  {extra},");
    }
    out.push_str("  \"runs\": [\n");
    for (i, r) in runs.iter().enumerate() {
        let overrides: Vec<serde_json::Value> = r
            .overrides
            .iter()
            .map(|o| serde_json::Value::from(o.as_str()))
            .collect();
        let _ = write!(
            out,
            "    {{\"name\": {}, \"overrides\": {}, \"report\": {}}}",
            serde_json::Value::from(r.name.as_str()),
            serde_json::Value::from(overrides),
            r.report.to_json().trim_end()
        );
        out.push_str(if i + 1 < runs.len() { ",\n" } else { "\n" });
    }
    out.push_str("  ]\n}\n");
    out
}

/// A run's name as a file name: characters other than `A-Za-z0-9-_.` become `_`.
pub(crate) fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `path` with `-name` before its extension (`out.hlog` → `out-pc-10.hlog`), for per-run files.
fn per_run(path: &Path, name: &str) -> PathBuf {
    let safe = file_safe(name);
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let file = match path.extension() {
        Some(ext) => format!("{stem}-{safe}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{safe}"),
    };
    path.with_file_name(file)
}

/// Writes the files of a lab run.
pub(crate) fn write_files(
    runs: &[LabRun],
    comparison: &Comparison,
    sweep: Option<Vec<crate::report::html::SweepPoint>>,
    title: &str,
    json_extra: &str,
    files: &LabFiles<'_>,
) -> Result<(), CliError> {
    if let Some(path) = files.json {
        super::write_output("--json", path, json(runs, json_extra))?;
    }
    if let Some(path) = files.hlog {
        for r in runs {
            let file = per_run(path, &r.name);
            super::write_reports(&r.report, None, Some(&file))?;
        }
    }
    if let Some(path) = files.html {
        let table = comparison.table();
        let input = crate::report::html::HtmlInput {
            title: title.to_string(),
            variants: runs.iter().map(|r| (r.name.clone(), &r.report)).collect(),
            table: Some(crate::report::html::Table {
                headers: table.headers,
                rows: table.rows,
            }),
            sweep,
        };
        super::write_output("--html", path, crate::report::html::render(&input))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_run_files_get_the_run_name_before_the_extension() {
        assert_eq!(
            per_run(Path::new("out/lat.hlog"), "memory_mb=512 x"),
            PathBuf::from("out/lat-memory_mb_512_x.hlog")
        );
        assert_eq!(per_run(Path::new("lat"), "a"), PathBuf::from("lat-a"));
    }
}
