//! Lambda's fixed limits, in one place (values and sources: docs/lambda.md §3–§4).

/// Function memory size range, MB (1 MB steps).
pub const MEMORY_MB_MIN: u64 = 128;
pub const MEMORY_MB_MAX: u64 = 10_240;
/// Default memory size, MB.
pub const MEMORY_MB_DEFAULT: u64 = 128;

/// Function timeout range, seconds.
pub const TIMEOUT_S_MIN: f64 = 1.0;
pub const TIMEOUT_S_MAX: f64 = 900.0;
/// Default timeout, seconds.
pub const TIMEOUT_S_DEFAULT: f64 = 3.0;

/// On-demand Init phase limit.
pub const INIT_LIMIT_NS: u64 = 10 * NS_PER_S;

/// Init limit of provisioned (and SnapStart) environments: 130 s or the function timeout, whichever is higher.
pub fn provisioned_init_limit_ns(timeout_ns: u64) -> u64 {
    (130 * NS_PER_S).max(timeout_ns)
}

/// Synchronous request and response payload limit: 6 MB as Lambda counts it.
pub const SYNC_PAYLOAD_MAX_BYTES: usize = 6_291_456;
/// Largest response a function may return; Lambda's error names 6,291,556 bytes.
pub const RESPONSE_MAX_BYTES: usize = 6_291_556;
/// Asynchronous (`Event`) payload limit: 1 MB since 2025-10.
pub const ASYNC_PAYLOAD_MAX_BYTES: usize = 1_048_576;

/// A 32-bit linear memory cannot exceed 4 GiB, whatever the memory size.
pub const WASM32_MEMORY_MAX_BYTES: u64 = 4 << 30;

pub const NS_PER_MS: u64 = 1_000_000;
pub const NS_PER_S: u64 = 1_000_000_000;

/// Checks a memory size, returning the allowed range on error.
pub fn check_memory_mb(mb: u64) -> Result<u64, String> {
    if (MEMORY_MB_MIN..=MEMORY_MB_MAX).contains(&mb) {
        Ok(mb)
    } else {
        Err(format!(
            "memory size {mb} MB is outside Lambda's range {MEMORY_MB_MIN}–{MEMORY_MB_MAX} MB"
        ))
    }
}

/// Checks a timeout in seconds and converts it to nanoseconds.
pub fn check_timeout_s(s: f64) -> Result<u64, String> {
    if (TIMEOUT_S_MIN..=TIMEOUT_S_MAX).contains(&s) {
        Ok((s * NS_PER_S as f64).round() as u64)
    } else {
        Err(format!(
            "timeout {s} s is outside Lambda's range {TIMEOUT_S_MIN}–{TIMEOUT_S_MAX} s"
        ))
    }
}

/// Lambda's limit on all of a function's environment variables together, keys and values, in bytes.
pub const ENVIRONMENT_MAX_BYTES: usize = 4096;

/// The keys Lambda sets itself and does not let a function set ("Defined runtime environment variables").
pub const RESERVED_ENVIRONMENT_KEYS: [&str; 18] = [
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

/// Checks a function's environment variables: a key is a letter then letters, digits or `_`; the keys Lambda
/// reserves cannot be set; keys and values together are at most 4 KB. The error says why a set is not one Lambda accepts (the message names the key and the rule).
pub fn check_environment(vars: &std::collections::BTreeMap<String, String>) -> Result<(), String> {
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
        if RESERVED_ENVIRONMENT_KEYS.contains(&key.as_str()) {
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
