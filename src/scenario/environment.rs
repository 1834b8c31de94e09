//! A function's `environment = { KEY = "value", … }`: its environment variables, checked by Lambda's rules
//! ([`crate::limits::check_environment`]).

use std::collections::BTreeMap;

use toml::Spanned;

use super::ScenarioError;
use super::error::Source;

/// `environment` of the function `what` names.
pub(super) fn environment(
    src: &Source,
    raw: Option<&Spanned<BTreeMap<String, String>>>,
    what: &str,
) -> Result<BTreeMap<String, String>, ScenarioError> {
    let Some(raw) = raw else {
        return Ok(BTreeMap::new());
    };
    let vars = raw.get_ref().clone();
    crate::limits::check_environment(&vars)
        .map_err(|e| src.err(&raw.span(), format!("{what}: environment: {e}")))?;
    Ok(vars)
}
