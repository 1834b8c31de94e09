//! The mitigation lab: replay one scenario's traffic against several configurations — the `[[variant]]`s of a
//! file, or the points of a `lambda-sim sweep` — and compare what each does to cold starts, latency and cost.
//!
//! Runs are independent virtual-time runs, so they go in parallel on worker threads (one engine and in-memory code
//! cache per run; the on-disk cache is shared) and the results are exactly those of sequential runs, in input
//! order. `compare` turns the reports into the comparison table; `sweep` builds grids and picks an optimum.

pub mod compare;
pub mod sweep;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::report::RunReport;
use crate::sandbox::CodeCache;
use crate::scenario::Scenario;
use crate::sim::{RunOptions, SimError, run_virtual};

/// A configuration that was run: its name, what it changed, and the report.
#[derive(Debug, Clone)]
pub struct LabRun {
    pub name: String,
    /// The overrides as `key = value` lines (empty for the file as written).
    pub overrides: Vec<String>,
    pub report: RunReport,
}

/// Why a lab run failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("variant \"{variant}\"")]
    Deploy {
        variant: String,
        source: crate::deploy::DeployError,
    },
    #[error("variant \"{variant}\"")]
    Run { variant: String, source: SimError },
}

/// One configuration to run.
pub struct LabInput<'a> {
    pub name: &'a str,
    pub overrides: &'a [String],
    pub scenario: &'a Scenario,
    /// Where this run writes its outputs (async destinations' records), if anywhere.
    pub out_dir: Option<PathBuf>,
    /// Where it publishes how far it has got, if anyone is watching.
    pub progress: Option<std::sync::Arc<crate::sim::progress::RunProgress>>,
}

/// Runs every input in virtual time on up to `jobs` threads; results in input order. `cache` makes a code cache
/// for one run (give each its own in-memory part: compiled modules belong to one engine).
pub fn run_all(
    inputs: &[LabInput<'_>],
    cache: &(dyn Fn() -> CodeCache + Sync),
    jobs: usize,
) -> Result<Vec<LabRun>, LabError> {
    // Build guest crates once, before the workers would race to build them, and run the built modules.
    let mut built: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut scenarios = Vec::with_capacity(inputs.len());
    for input in inputs {
        let mut scenario = input.scenario.clone();
        for f in &mut scenario.functions {
            let wasm = match built.get(&f.code) {
                Some(w) => w.clone(),
                None => {
                    let w = crate::guest::resolve(&f.code).map_err(|source| LabError::Deploy {
                        variant: input.name.to_string(),
                        source: crate::deploy::DeployError::Guest {
                            function: f.name.clone(),
                            source,
                        },
                    })?;
                    built.insert(f.code.clone(), w.clone());
                    w
                }
            };
            f.code = wasm;
        }
        scenarios.push(scenario);
    }
    let inputs: Vec<LabInput<'_>> = inputs
        .iter()
        .zip(&scenarios)
        .map(|(i, s)| LabInput {
            name: i.name,
            overrides: i.overrides,
            scenario: s,
            out_dir: i.out_dir.clone(),
            progress: i.progress.clone(),
        })
        .collect();
    let inputs = &inputs[..];
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<LabRun, LabError>>>> =
        Mutex::new(inputs.iter().map(|_| None).collect());
    let workers = jobs.clamp(1, inputs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else {
                        break;
                    };
                    let result = run_one(input, &cache());
                    let failed = result.is_err();
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(result);
                    }
                    if failed {
                        // Stop handing out work; runs in progress finish.
                        next.store(inputs.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Some(r) => out.push(r?),
            None => continue, // not started after an earlier failure; that failure is returned first
        }
    }
    Ok(out)
}

fn run_one(input: &LabInput<'_>, cache: &CodeCache) -> Result<LabRun, LabError> {
    let deployment =
        crate::deploy::deploy(input.scenario, cache).map_err(|source| LabError::Deploy {
            variant: input.name.to_string(),
            source,
        })?;
    let options = RunOptions {
        progress: input.progress.clone(),
        out_dir: input.out_dir.clone(),
    };
    let report =
        run_virtual(input.scenario, &deployment, &options).map_err(|source| LabError::Run {
            variant: input.name.to_string(),
            source,
        })?;
    Ok(LabRun {
        name: input.name.to_string(),
        overrides: input.overrides.to_vec(),
        report,
    })
}

/// How many runs to do at once by default: the machine's cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
