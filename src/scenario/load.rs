//! Reading a scenario file: TOML → [`super::raw`] structs (syntax, types, unknown fields) → checked [`Scenario`].

use std::path::{Path, PathBuf};

use super::error::{Source, unpositioned};
use super::raw::RawScenario;
use super::{Scenario, ScenarioError, functions, phases, settings};

/// Reads and checks the scenario file at `path`. A file that cannot be read gives an error at line 0.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
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
    parse(&text, path)
}

/// Parses and checks scenario text; `path` names it in errors and anchors relative paths in it.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let src = Source::new(path, text);
    let raw: RawScenario = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
    let simulation = settings::simulation(&src, path, raw.simulation.as_ref())?;
    let account = settings::account(&src, raw.account.as_ref())?;
    let functions = functions::functions(&src, path, &raw.functions, &account)?;
    let traffic = phases::phases(&src, path, &raw.traffic, &functions, &simulation)?;
    Ok(Scenario {
        path: path.to_path_buf(),
        simulation,
        account,
        functions,
        traffic,
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
