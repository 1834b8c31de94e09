//! How an invocation ended, its request id and Lambda's error object: the words the model, the sandbox, metrics
//! and reports share.

use std::fmt;

/// How an invocation (or an init) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Success,
    /// The handler reported an error (handled); the sandbox stays warm.
    FunctionError,
    /// The timeout elapsed; the sandbox is destroyed.
    Timeout,
    /// Memory grew past the function's memory size; the sandbox is destroyed.
    OutOfMemory,
    /// A trap or ABI misuse; the sandbox is destroyed.
    Crash,
}

impl Outcome {
    /// Whether Lambda resets the execution environment after this outcome.
    #[inline]
    pub fn destroys_sandbox(self) -> bool {
        matches!(
            self,
            Outcome::Timeout | Outcome::OutOfMemory | Outcome::Crash
        )
    }

    /// The snake_case name reports use.
    #[inline]
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::FunctionError => "function_error",
            Outcome::Timeout => "timeout",
            Outcome::OutOfMemory => "out_of_memory",
            Outcome::Crash => "crash",
        }
    }
}

/// A request id, shown as a lower-case UUID (version 4 layout) like Lambda's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u128);

impl RequestId {
    /// The `n`th request id of a run seeded with `seed`: two SplitMix64 steps, cheap and reproducible.
    #[inline]
    pub fn nth(seed: u64, n: u64) -> Self {
        fn splitmix(x: u64) -> u64 {
            let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        let hi = splitmix(seed ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let lo = splitmix(hi ^ n);
        Self::from_random((u128::from(hi) << 64) | u128::from(lo))
    }

    /// Builds a version-4 UUID from 128 random bits.
    #[inline]
    pub fn from_random(bits: u128) -> Self {
        RequestId(
            uuid::Builder::from_random_bytes(bits.to_be_bytes())
                .into_uuid()
                .as_u128(),
        )
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        uuid::Uuid::from_u128(self.0).hyphenated().fmt(f)
    }
}

/// The error object Lambda returns as the body of a failed invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub error_type: String,
    pub error_message: String,
    /// The stack trace a runtime reports with the error (Python, JavaScript handlers), one frame a line; empty
    /// when there is none (then the JSON has no `stackTrace`).
    pub stack_trace: Vec<String>,
}

impl ErrorBody {
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        ErrorBody {
            error_type: error_type.into(),
            error_message: error_message.into(),
            stack_trace: Vec::new(),
        }
    }

    /// `{"errorType":…,"errorMessage":…}`, with `"stackTrace":[…]` when there is one.
    pub fn to_json(&self) -> String {
        // Written by hand to keep Lambda's field order (serde_json's maps sort keys).
        let quote = |s: &str| serde_json::Value::from(s).to_string();
        let stack_trace = if self.stack_trace.is_empty() {
            String::new()
        } else {
            format!(
                ",\"stackTrace\":{}",
                serde_json::Value::from(self.stack_trace.clone())
            )
        };
        format!(
            "{{\"errorType\":{},\"errorMessage\":{}{stack_trace}}}",
            quote(&self.error_type),
            quote(&self.error_message)
        )
    }
}
