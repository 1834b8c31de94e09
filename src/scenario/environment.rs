//! A function's `environment = { KEY = "value", … }`: its environment variables, checked by Lambda's rules — a key
//! is a letter then letters, digits or `_`; the keys Lambda reserves for itself cannot be set; keys and values
//! together are at most 4 KB.

use std::collections::BTreeMap;

use toml::Spanned;

use super::ScenarioError;
use super::error::Source;

/// Lambda's limit on all of a function's environment variables together, keys and values, in bytes.
pub const ENVIRONMENT_MAX_BYTES: usize = 4096;

/// The keys Lambda sets itself and does not let a function set ("Defined runtime environment variables").
pub const RESERVED_KEYS: [&str; 18] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Why a set of environment variables is not one Lambda accepts (the message names the key and the rule).
pub fn check(vars: &BTreeMap<String, String>) -> Result<(), String> {
    for key in vars.keys() {
        let mut chars = key.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && key.len() >= 2
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "key {key:?} is not a letter followed by letters, digits or _ (Lambda's [a-zA-Z]([a-zA-Z0-9_])+)"
            ));
        }
        if RESERVED_KEYS.contains(&key.as_str()) {
            return Err(format!(
                "key {key:?} is reserved: Lambda sets it for every function"
            ));
        }
    }
    let bytes: usize = vars.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > ENVIRONMENT_MAX_BYTES {
        return Err(format!(
            "keys and values come to {bytes} bytes; Lambda allows at most {ENVIRONMENT_MAX_BYTES}"
        ));
    }
    Ok(())
}

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
    check(&vars).map_err(|e| src.err(&raw.span(), format!("{what}: environment: {e}")))?;
    Ok(vars)
}
