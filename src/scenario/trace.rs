//! `[trace]`: replay a public FaaS trace (Azure Functions 2019 or 2021) as the scenario's traffic. Each selected
//! trace function becomes a [`FunctionSpec`] built from the `[trace.function]` template, appended after the file's
//! `[[function]]`s; its arrivals are streamed from the trace by [`crate::traffic`]. See `docs/traces.md`.
//!
//! Loading reads the trace once (the first pass: checks every row, applies the filters, counts each function's
//! invocations in the window, picks top-N / a sample, then looks up the chosen functions' durations and memory), so
//! every trace error is a load error with the trace file's line and column. Memory: the selected functions only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::Source;
use super::raw::{DurationValue, RawFunction, RawScenario, RawSimulation};
use super::values::{duration_ns, int_in, positive_duration_ns};
use super::{Account, FunctionSpec, KeepAlivePolicy, ScenarioError, resolve_path};
use crate::limits::{MEMORY_MB_MAX, MEMORY_MB_MIN, NS_PER_S};
use crate::traces::azure::{AzureTraceError, MINUTES_PER_DAY, Spread, Trigger};
use crate::traces::{self as replay, Filters, Selected};

/// Which public trace a `[trace]` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// Azure Functions 2019: per-minute counts per function, duration and memory percentiles.
    Azure2019,
    /// Azure Functions 2021: one row per invocation (app, func, end time, duration).
    Azure2021,
}

/// A checked `[trace]` with the functions its first pass selected.
#[derive(Debug, Clone)]
pub struct TraceSpec {
    pub format: TraceFormat,
    /// The invocation counts (2019) or the per-invocation file (2021).
    pub file: PathBuf,
    /// 2019: `function_durations_percentiles` (optional: missing functions use `default_duration_ms`).
    pub durations: Option<PathBuf>,
    /// 2019: `app_memory_percentiles` (optional).
    pub memory: Option<PathBuf>,
    /// 2019: how a minute's count is placed within the minute.
    pub spread: Spread,
    /// The replayed window of trace time, `[start, end)`, ns from the trace's start.
    pub window_start_ns: u64,
    pub window_end_ns: u64,
    /// Trace time / speedup = simulated time (after the window start). Durations are not scaled.
    pub speedup: f64,
    /// 2019: the duration of a function the durations file does not list.
    pub default_duration_ms: f64,
    /// Selected functions, in file order.
    pub functions: Vec<TraceFunction>,
    /// Invocations of the selected functions in the window (what a full replay issues).
    pub invocations: u64,
    /// 2021: rows longer than Lambda's 900 s limit, replayed as 900 s ending at the row's end time.
    pub clamped_rows: u64,
}

/// One selected trace function.
#[derive(Debug, Clone)]
pub struct TraceFunction {
    /// Index into `Scenario::functions`.
    pub function: usize,
    /// 2019 only.
    pub owner: Option<String>,
    pub app: String,
    /// The trace's function hash (`HashFunction` / `func`).
    pub hash: String,
    /// 2019 only.
    pub trigger: Option<Trigger>,
    /// 0-based row of the 2019 invocations file (how the replay finds it again); 0 for 2021.
    pub row: u64,
    /// 2019: duration percentiles 0, 1, 25, 50, 75, 99, 100 (ms), if the durations file lists the function.
    pub durations_ms: Option<[f64; 7]>,
    /// 2019: the app's memory (`AverageAllocatedMb_pct99`), if the memory file lists the app.
    pub app_memory_mb: Option<f64>,
    /// Invocations in the window.
    pub invocations: u64,
}

/// The `[trace]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrace {
    pub format: Option<Spanned<String>>,
    pub invocations: Option<Spanned<String>>,
    pub durations: Option<Spanned<String>>,
    pub memory: Option<Spanned<String>>,
    pub file: Option<Spanned<String>>,
    pub spread: Option<Spanned<String>>,
    pub triggers: Option<Spanned<Vec<Spanned<String>>>>,
    pub apps: Option<Spanned<Vec<Spanned<String>>>>,
    pub owners: Option<Spanned<Vec<Spanned<String>>>>,
    pub top: Option<Spanned<i64>>,
    pub sample: Option<Spanned<i64>>,
    pub start: Option<Spanned<DurationValue>>,
    pub end: Option<Spanned<DurationValue>>,
    pub speedup: Option<Spanned<f64>>,
    pub default_duration: Option<Spanned<DurationValue>>,
    pub function: Option<Spanned<RawFunction>>,
    /// Named real handlers for some trace functions: HashFunction prefix → code.
    pub handlers: Option<Spanned<std::collections::BTreeMap<String, Spanned<String>>>>,
}

/// Default duration of a 2019 function missing from the durations file.
pub const DEFAULT_DURATION_MS: f64 = 1000.0;
/// Default timeout of trace functions: Lambda's maximum, so the trace's own durations run to completion.
const TRACE_TIMEOUT_NS: u64 = 900 * NS_PER_S;
/// Most functions one trace may select (each is a function of the simulated account).
pub const MAX_TRACE_FUNCTIONS: i64 = 100_000;

/// A `[trace]` after its first pass, before its functions are built.
pub(super) struct Prepared {
    raw_function: Option<Spanned<RawFunction>>,
    handlers: Option<Spanned<std::collections::BTreeMap<String, Spanned<String>>>>,
    table_span: std::ops::Range<usize>,
    spec: TraceSpec,
    selected: Vec<Selected>,
}

/// Checks `[trace]`, runs the first pass over the trace, and gives `[simulation]` its default duration (the
/// window divided by the speedup) when it sets none. `None` without a `[trace]`.
pub(super) fn prepare(
    src: &Source,
    path: &Path,
    raw: &mut RawScenario,
) -> Result<Option<Prepared>, ScenarioError> {
    let Some(traw) = raw.trace.take() else {
        return Ok(None);
    };
    let table_span = traw.span();
    let mut t = traw.into_inner();
    let what = "trace";
    let format = match &t.format {
        None => {
            return Err(src.err(
                &table_span,
                "trace: format is required (\"azure-2019\" or \"azure-2021\")",
            ));
        }
        Some(v) => match v.get_ref().as_str() {
            "azure-2019" => TraceFormat::Azure2019,
            "azure-2021" => TraceFormat::Azure2021,
            other => {
                return Err(src.err(
                    &v.span(),
                    format!("trace: format = {other:?} is not a known trace format; expected \"azure-2019\" or \"azure-2021\""),
                ));
            }
        },
    };
    let is_2019 = format == TraceFormat::Azure2019;
    // Keys of the other format are mistakes, not silently ignored.
    let foreign: &[(&str, bool)] = if is_2019 {
        &[("file", t.file.is_some())]
    } else {
        &[
            ("invocations", t.invocations.is_some()),
            ("durations", t.durations.is_some()),
            ("memory", t.memory.is_some()),
            ("spread", t.spread.is_some()),
            ("triggers", t.triggers.is_some()),
            ("owners", t.owners.is_some()),
            ("default_duration", t.default_duration.is_some()),
        ]
    };
    if let Some((key, _)) = foreign.iter().find(|(_, set)| *set) {
        let other = if is_2019 { "azure-2021" } else { "azure-2019" };
        return Err(src.err(
            &table_span,
            format!(
                "trace: {key} is a setting of format = \"{other}\", not of this trace's format"
            ),
        ));
    }
    let file_key = if is_2019 { &t.invocations } else { &t.file };
    let file_name = if is_2019 { "invocations" } else { "file" };
    let Some(file_v) = file_key else {
        return Err(src.err(
            &table_span,
            format!("trace: {file_name} is required (the path of the trace file, relative to the scenario file)"),
        ));
    };
    let file = trace_path(src, path, file_v, &format!("{what}: {file_name}"))?;
    let durations = t
        .durations
        .as_ref()
        .map(|v| trace_path(src, path, v, "trace: durations"))
        .transpose()?;
    let memory = t
        .memory
        .as_ref()
        .map(|v| trace_path(src, path, v, "trace: memory"))
        .transpose()?;
    let spread = match &t.spread {
        None => Spread::Poisson,
        Some(v) => Spread::parse(v.get_ref()).ok_or_else(|| {
            src.err(
                &v.span(),
                format!("trace: spread = {:?} is not a spread rule; expected \"uniform\", \"poisson\" or \"equally-spaced\"", v.get_ref()),
            )
        })?,
    };
    let triggers = match &t.triggers {
        None => Vec::new(),
        Some(list) => {
            let mut out = Vec::new();
            for v in list.get_ref() {
                let tr = Trigger::parse(v.get_ref()).ok_or_else(|| {
                    src.err(
                        &v.span(),
                        format!("trace: triggers: {:?} is not a trigger of the 2019 trace; expected one of http, timer, event, queue, storage, orchestration, others", v.get_ref()),
                    )
                })?;
                out.push(tr);
            }
            out
        }
    };
    let apps = hash_list(src, &t.apps, "apps")?;
    let owners = hash_list(src, &t.owners, "owners")?;
    let count = |v: &Option<Spanned<i64>>, key: &str| -> Result<Option<usize>, ScenarioError> {
        v.as_ref()
            .map(|v| {
                int_in(
                    src,
                    v,
                    &format!("trace: {key}"),
                    1,
                    MAX_TRACE_FUNCTIONS,
                    "functions",
                )
                .map(|n| n as usize)
            })
            .transpose()
    };
    let top = count(&t.top, "top")?;
    let sample = count(&t.sample, "sample")?;
    let window_start_ns = match &t.start {
        None => 0,
        Some(v) => duration_ns(src, v, "trace: start")?,
    };
    let day_ns = MINUTES_PER_DAY as u64 * 60 * NS_PER_S;
    let window_end_ns = match &t.end {
        None => None,
        Some(v) => {
            let end = positive_duration_ns(src, v, "trace: end")?;
            if end <= window_start_ns {
                return Err(src.err(
                    &v.span(),
                    format!("trace: end = {} must be after start", v.get_ref()),
                ));
            }
            Some(end)
        }
    };
    if is_2019 {
        for (v, ns, is_start) in [
            (&t.start, Some(window_start_ns), true),
            (&t.end, window_end_ns, false),
        ] {
            let (Some(v), Some(ns)) = (v, ns) else {
                continue;
            };
            // A window starts before the day's end (an empty window would select nothing).
            let past_end = if is_start { ns >= day_ns } else { ns > day_ns };
            if ns % (60 * NS_PER_S) != 0 || past_end {
                return Err(src.err(
                    &v.span(),
                    format!("trace: {} must be a whole number of minutes within the day (0–24h): the 2019 trace counts invocations per minute", v.get_ref()),
                ));
            }
        }
    }
    let speedup = match &t.speedup {
        None => 1.0,
        Some(v) => {
            let x = *v.get_ref();
            if !(x.is_finite() && (1e-3..=1e6).contains(&x)) {
                return Err(src.err(
                    &v.span(),
                    format!("trace: speedup = {x} is outside the allowed range 0.001–1000000"),
                ));
            }
            x
        }
    };
    let default_duration_ms = match &t.default_duration {
        None => DEFAULT_DURATION_MS,
        Some(v) => duration_ns(src, v, "trace: default_duration")? as f64 / 1e6,
    };
    let seed = raw
        .simulation
        .as_ref()
        .and_then(|s| s.get_ref().seed.as_ref())
        .map_or(super::defaults::SEED, |s| {
            u64::try_from(*s.get_ref()).unwrap_or(0)
        });

    let filters = Filters {
        triggers,
        apps,
        owners,
        top,
        sample,
        seed,
        window_start_ns,
        window_end_ns: window_end_ns.unwrap_or(if is_2019 { day_ns } else { u64::MAX }),
    };
    let pass = match format {
        TraceFormat::Azure2019 => {
            replay::select_2019(&file, durations.as_deref(), memory.as_deref(), &filters)
        }
        TraceFormat::Azure2021 => replay::select_2021(&file, &filters),
    }
    .map_err(|e| trace_error(&e))?;
    if pass.selected.is_empty() {
        return Err(src.err(
            &table_span,
            format!(
                "trace: no function of {} has an invocation in the window{} that matches the filters (check \
                 triggers, apps, owners, start and end)",
                file.display(),
                match (&t.start, &t.end) {
                    (None, None) => String::new(),
                    _ => format!(
                        " [{}, {})",
                        t.start.as_ref().map_or("0".to_string(), |v| v.get_ref().to_string()),
                        t.end.as_ref().map_or("end".to_string(), |v| v.get_ref().to_string())
                    ),
                }
            ),
        ));
    }
    let window_end_ns = window_end_ns.unwrap_or(pass.window_end_ns);

    // [simulation] duration defaults to the replayed window in simulated time: just past the simulated time of its
    // last instant, so the rounding of a speedup cannot drop the last arrival.
    let last_ns = window_end_ns.saturating_sub(1).max(window_start_ns);
    let sim_ns = replay::simulated_ns(last_ns, window_start_ns, speedup).saturating_add(1);
    let sim = raw.simulation.get_or_insert_with(|| {
        Spanned::new(
            table_span.clone(),
            RawSimulation {
                name: None,
                duration: None,
                seed: None,
                mode: None,
                ns_per_fuel: None,
                memory_budget_mb: None,
            },
        )
    });
    let sim_span = sim.span();
    let sim = sim.get_mut();
    if sim.duration.is_none() {
        sim.duration = Some(Spanned::new(
            sim_span,
            DurationValue::Text(format!("{sim_ns}ns")),
        ));
    }

    let invocations = pass.selected.iter().map(|s| s.invocations).sum();
    Ok(Some(Prepared {
        raw_function: t.function.take(),
        handlers: t.handlers.take(),
        table_span,
        spec: TraceSpec {
            format,
            file,
            durations,
            memory,
            spread,
            window_start_ns,
            window_end_ns,
            speedup,
            default_duration_ms,
            functions: Vec::new(),
            invocations,
            clamped_rows: pass.clamped_rows,
        },
        selected: pass.selected,
    }))
}

/// Builds one [`FunctionSpec`] per selected function from the `[trace.function]` template and appends them to
/// `functions`; names are short hash prefixes (`<app>-<function>`), lengthened until unique.
pub(super) fn build_functions(
    src: &Source,
    path: &Path,
    prepared: Prepared,
    account: &Account,
    functions: &mut Vec<FunctionSpec>,
) -> Result<TraceSpec, ScenarioError> {
    let Prepared {
        raw_function,
        handlers,
        table_span,
        mut spec,
        selected,
    } = prepared;
    let template_span = raw_function
        .as_ref()
        .map_or(table_span.clone(), |f| f.span());
    let mut raw_fn = match raw_function {
        Some(f) => f.into_inner(),
        None => empty_function(),
    };
    if let Some(v) = &raw_fn.name {
        return Err(src.err(
            &v.span(),
            "trace.function: name cannot be set: trace functions are named after their hashes",
        ));
    }
    for (key, set) in [
        (
            "reserved_concurrency",
            raw_fn.reserved_concurrency.is_some(),
        ),
        (
            "provisioned_concurrency",
            raw_fn.provisioned_concurrency.is_some(),
        ),
        (
            "provisioned_schedule",
            raw_fn.provisioned_schedule.is_some(),
        ),
        (
            "provisioned_autoscaling",
            raw_fn.provisioned_autoscaling.is_some(),
        ),
    ] {
        if set {
            return Err(src.err(
                &template_span,
                format!("trace.function: {key} is not supported for trace functions (it would apply to each of them; declare a [[function]] instead)"),
            ));
        }
    }
    let memory_set = raw_fn.memory_mb.is_some();
    let timeout_set = raw_fn.timeout.is_some();
    raw_fn.name = Some(Spanned::new(
        template_span.clone(),
        "trace-function".to_string(),
    ));
    if raw_fn.code.is_none() {
        let stand_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("functions/stand-in");
        raw_fn.code = Some(Spanned::new(
            template_span.clone(),
            stand_in.display().to_string(),
        ));
    }
    let template = super::functions::function(
        src,
        path,
        &Spanned::new(template_span.clone(), raw_fn),
        &mut HashMap::new(),
    )?;
    if template.keep_alive == KeepAlivePolicy::GreedyDual && account.keep_alive_memory_mb.is_none()
    {
        return Err(src.err(
            &template_span,
            "trace.function: keep_alive = { policy = \"greedy-dual\" } needs [account] keep_alive_memory_mb",
        ));
    }
    // Named real handlers: each key a prefix of some selected function's HashFunction; the longest match wins.
    let mut mapped: Vec<(String, PathBuf)> = Vec::new();
    if let Some(h) = &handlers {
        for (prefix, code) in h.get_ref() {
            let what = format!("trace.handlers.{prefix}");
            let resolved = super::functions::code_path(src, path, code, &what)?;
            let used = selected
                .iter()
                .any(|s| s.function.starts_with(prefix.as_str()));
            if prefix.is_empty() || !used {
                return Err(src.err(
                    &code.span(),
                    format!(
                        "{what}: no selected trace function's HashFunction starts with {prefix:?} (keys are \
                         HashFunction prefixes)"
                    ),
                ));
            }
            mapped.push((prefix.clone(), resolved));
        }
    }
    let names = unique_names(&selected);
    for (sel, name) in selected.into_iter().zip(names) {
        if let Some(clash) = functions.iter().find(|f| f.name == name) {
            return Err(src.err(
                &table_span,
                format!("trace: trace function \"{name}\" has the name of a [[function]] ({}); rename that function", clash.name),
            ));
        }
        let mut f = template.clone();
        f.name = name;
        if let Some((_, code)) = mapped
            .iter()
            .filter(|(prefix, _)| sel.function.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
        {
            f.code = code.clone();
        }
        if !timeout_set {
            f.timeout_ns = TRACE_TIMEOUT_NS;
        }
        if !memory_set && let Some(mb) = sel.app_memory_mb {
            f.memory_mb = lambda_memory_mb(mb);
        }
        spec.functions.push(TraceFunction {
            function: functions.len(),
            owner: sel.owner,
            app: sel.app,
            hash: sel.function,
            trigger: sel.trigger,
            row: sel.row,
            durations_ms: sel.durations_ms,
            app_memory_mb: sel.app_memory_mb,
            invocations: sel.invocations,
        });
        functions.push(f);
    }
    Ok(spec)
}

/// An app's memory in MB as a Lambda memory size: rounded up, clamped to 128–10,240 MB.
pub fn lambda_memory_mb(mb: f64) -> u64 {
    (mb.ceil().max(0.0) as u64).clamp(MEMORY_MB_MIN, MEMORY_MB_MAX)
}

/// `<app>-<function>` hash prefixes of 6, 8, 12, 16, 24 or 31 characters: the shortest length at which all names
/// differ; a row repeating another's ids gets `-<row>` appended.
fn unique_names(selected: &[Selected]) -> Vec<String> {
    let name = |s: &Selected, len: usize| {
        let cut = |h: &str| h.chars().take(len).collect::<String>();
        format!("{}-{}", cut(&s.app), cut(&s.function))
    };
    for len in [6, 8, 12, 16, 24, 31] {
        let names: Vec<String> = selected.iter().map(|s| name(s, len)).collect();
        let mut sorted: Vec<&String> = names.iter().collect();
        sorted.sort();
        if sorted.windows(2).all(|w| w[0] != w[1]) {
            return names;
        }
    }
    selected
        .iter()
        .map(|s| format!("{}-{}", name(s, 24), s.row))
        .collect()
}

fn empty_function() -> RawFunction {
    RawFunction {
        name: None,
        code: None,
        handler: None,
        memory_mb: None,
        timeout: None,
        reserved_concurrency: None,
        provisioned_concurrency: None,
        provisioned_allocation_delay: None,
        keep_alive: None,
        max_lifetime: None,
        architecture: None,
        runtime: None,
        cold_start: None,
        snapshot: None,
        warmer: None,
        provisioned_schedule: None,
        provisioned_autoscaling: None,
        event_invoke_config: None,
        environment: None,
    }
}

fn trace_path(
    src: &Source,
    path: &Path,
    v: &Spanned<String>,
    what: &str,
) -> Result<PathBuf, ScenarioError> {
    let given = v.get_ref();
    let resolved = resolve_path(path, Path::new(given));
    if !resolved.is_file() {
        return Err(src.err(
            &v.span(),
            format!(
                "{what} = {given:?}: no such file (looked at {})",
                resolved.display()
            ),
        ));
    }
    Ok(resolved)
}

fn hash_list(
    src: &Source,
    v: &Option<Spanned<Vec<Spanned<String>>>>,
    key: &str,
) -> Result<Vec<String>, ScenarioError> {
    let Some(list) = v else { return Ok(Vec::new()) };
    list.get_ref()
        .iter()
        .map(|h| {
            let s = h.get_ref().trim();
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
                Err(src.err(
                    &h.span(),
                    format!(
                        "trace: {key}: {:?} must be a hash or a prefix of one (letters and digits)",
                        h.get_ref()
                    ),
                ))
            } else {
                Ok(s.to_ascii_lowercase())
            }
        })
        .collect()
}

/// A trace reading error as a scenario error, keeping the trace file's line and column.
pub(crate) fn trace_error(e: &AzureTraceError) -> ScenarioError {
    let at = |file: &str, line: u64, column: usize, message: String| ScenarioError {
        file: file.to_string(),
        line: line as usize,
        column,
        message,
    };
    match e {
        AzureTraceError::Open { file, source } => {
            at(file, 0, 0, format!("cannot open the trace file: {source}"))
        }
        AzureTraceError::Io { file, line, source } => at(
            file,
            *line,
            0,
            format!("cannot read the trace file: {source}"),
        ),
        AzureTraceError::Empty { file, expected } => at(
            file,
            1,
            1,
            format!("the trace file is empty; expected the header `{expected}`"),
        ),
        AzureTraceError::Header {
            file,
            column,
            expected,
            found,
        } => at(
            file,
            1,
            *column,
            format!("header field `{found}` should be `{expected}`"),
        ),
        AzureTraceError::ColumnCount {
            file,
            line,
            expected,
            found,
        } => at(
            file,
            *line,
            1,
            format!("expected {expected} comma-separated columns, found {found}"),
        ),
        AzureTraceError::Value {
            file,
            line,
            column,
            field,
            value,
            allowed,
        } => at(
            file,
            *line,
            *column,
            format!("field `{field}` has value `{value}`; expected {allowed}"),
        ),
    }
}
