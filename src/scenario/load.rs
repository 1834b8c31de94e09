//! Reading a scenario file: TOML → [`super::raw`] structs (syntax, types, unknown fields) → checked [`Scenario`].

use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::DeTable;

use super::error::{Source, unpositioned};
use super::variants::{self, ScenarioFile};
use super::{Scenario, ScenarioError, events, functions, phases, settings};

/// Reads and checks the scenario file at `path` (the scenario as written; its variants are checked too).
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_file(path).map(|f| f.base)
}

/// Reads and checks the scenario file at `path` with its `[[variant]]`s. A file that cannot be read gives an error
/// at line 0.
pub fn load_file(path: &Path) -> Result<ScenarioFile, ScenarioError> {
    let bytes = std::fs::read(path)
        .map_err(|e| unpositioned(path, format!("cannot read scenario file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, column) = super::error::line_col(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        ScenarioError {
            file: path.display().to_string(),
            line,
            column,
            message: "the scenario file is not valid UTF-8".to_string(),
        }
    })?;
    parse_file(&text, path)
}

/// Parses and checks scenario text; `path` names it in errors and anchors relative paths in it.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    parse_file(text, path).map(|f| f.base)
}

/// Parses and checks scenario text with its `[[variant]]`s.
pub fn parse_file(text: &str, path: &Path) -> Result<ScenarioFile, ScenarioError> {
    let src = Source::new(path, text);
    let mut doc = DeTable::parse(text).map_err(|e| src.toml_error(&e))?;
    let raw_variants = doc.get_mut().remove("variant");
    let base = build(&src, path, doc.clone())?;
    let variants = match raw_variants {
        Some(raw) => variants::variants(&src, path, &doc, raw)?,
        None => Vec::new(),
    };
    Ok(ScenarioFile { base, variants })
}

/// Checks a TOML document (the file's, or one with a variant's overrides merged in) and builds its scenario.
pub(super) fn build(
    src: &Source,
    path: &Path,
    doc: Spanned<DeTable<'_>>,
) -> Result<Scenario, ScenarioError> {
    let mut raw = variants::raw_scenario(src, doc)?;
    // Before [simulation]: a trace gives it its default duration.
    let trace = super::trace::prepare(src, path, &mut raw)?;
    let simulation = settings::simulation(src, path, raw.simulation.as_ref())?;
    let (account, not_lambda) =
        settings::account(src, raw.account.as_ref(), raw.not_lambda.as_ref())?;
    let mut functions = functions::functions(src, path, &raw.functions, &account, trace.is_some())?;
    let trace = trace
        .map(|t| super::trace::build_functions(src, path, t, &account, &mut functions))
        .transpose()?;
    let queues = events::queues(src, &raw.queues)?;
    let event_sources = events::event_sources(src, &raw.event_sources, &functions, &queues)?;
    let services = super::services::services(src, &raw.services)?;
    let mut traffic = phases::phases(src, path, &raw.traffic, &functions, &queues, &simulation)?;
    // Warmers' pings are phases of their own, after the file's, so the file's phases keep their indices (and
    // their random streams) whether or not a variant adds a warmer.
    for (function, f) in functions.iter().enumerate() {
        if let Some(w) = &f.warmer {
            traffic.push(super::TrafficPhase {
                target: super::Target::Function(function),
                start_ns: 0,
                end_ns: simulation.duration_ns,
                pattern: super::Pattern::Periodic {
                    every_ns: w.every_ns,
                    count: w.concurrency,
                },
                payload: super::PayloadSpec::Fixed(w.payload.clone()),
                invocation: super::InvocationType::RequestResponse,
                ping: true,
            });
        }
    }
    Ok(Scenario {
        path: path.to_path_buf(),
        simulation,
        account,
        not_lambda,
        functions,
        traffic,
        queues,
        event_sources,
        services,
        trace,
    })
}

/// Resolves a path written in the scenario at `scenario_path`: an absolute path, or a relative one that exists from
/// the current directory, is kept as given; any other relative path is taken relative to the scenario file's
/// directory (whether or not it exists there; callers report missing files).
pub fn resolve_path(scenario_path: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() || p.exists() {
        return p.to_path_buf();
    }
    match scenario_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(p),
        _ => p.to_path_buf(),
    }
}
