//! The handled-error type: what a handler or `init` returns to fail the call while keeping the sandbox warm. The
//! SDK reports it to the host through the `error` import as `errorType` / `errorMessage`.

use std::fmt;

/// A handled function error: `errorType` and `errorMessage` in Lambda's error response.
///
/// Any `E: std::error::Error` converts into it, so `?` works on ordinary errors: the type becomes the error's short
/// type name (`ParseIntError`, `serde_json::Error`, …) and the message its `Display` text followed by its sources.
///
/// `Error` deliberately does not implement `std::error::Error` itself (that would conflict with the blanket
/// conversion), in the same way as `anyhow::Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The `errorType` reported to the caller, e.g. `"ValidationError"`.
    pub error_type: String,
    /// The `errorMessage` reported to the caller.
    pub message: String,
}

impl Error {
    /// An error with the given `errorType` and `errorMessage`.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            error_type: error_type.into(),
            message: message.into(),
        }
    }

    /// An error of type `"Error"` with the given message.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::new("Error", message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        Error {
            error_type: short_type_name(std::any::type_name::<E>()),
            message: message_with_sources(&error),
        }
    }
}

/// A short, readable name for an error type from its `type_name` path: the last segment (`ParseIntError`), or,
/// when that is just `Error`, the path without its private `error` modules (`std::io::Error`, `serde_json::Error`).
/// Generic arguments are dropped. `type_name` is best-effort, so this is for humans, not for matching.
pub(crate) fn short_type_name(full: &str) -> String {
    let base = full.split('<').next().unwrap_or(full).trim();
    let segments: Vec<&str> = base.split("::").filter(|s| !s.is_empty()).collect();
    match segments.last() {
        None => "Error".to_owned(),
        Some(&"Error") if segments.len() > 1 => {
            let kept: Vec<&str> = segments[..segments.len() - 1]
                .iter()
                .copied()
                .filter(|s| *s != "error")
                .chain(std::iter::once("Error"))
                .collect();
            kept.join("::")
        }
        Some(last) => (*last).to_owned(),
    }
}

/// The error's `Display` text followed by those of its sources (`outer: inner: root`), skipping a source whose text
/// the message already contains.
pub(crate) fn message_with_sources(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !text.is_empty() && !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = inner.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(
            short_type_name("core::num::error::ParseIntError"),
            "ParseIntError"
        );
        assert_eq!(short_type_name("std::io::error::Error"), "std::io::Error");
        assert_eq!(
            short_type_name("serde_json::error::Error"),
            "serde_json::Error"
        );
        assert_eq!(
            short_type_name("my_crate::Oops<u8, alloc::string::String>"),
            "Oops"
        );
        assert_eq!(short_type_name("Error"), "Error");
        assert_eq!(short_type_name(""), "Error");
    }

    #[test]
    fn question_mark_converts_std_errors() {
        fn parse(s: &str) -> Result<u32, Error> {
            Ok(s.parse::<u32>()?)
        }
        let err = parse("x").unwrap_err();
        assert_eq!(err.error_type, "ParseIntError");
        assert_eq!(err.message, "invalid digit found in string");
        assert_eq!(
            err.to_string(),
            "ParseIntError: invalid digit found in string"
        );
    }

    #[test]
    fn serde_errors_get_a_qualified_name() {
        let err: Error = serde_json::from_str::<u32>("\"a\"").unwrap_err().into();
        assert_eq!(err.error_type, "serde_json::Error");
        assert!(err.message.contains("expected u32"), "{}", err.message);
    }

    #[test]
    fn sources_are_appended_once() {
        #[derive(Debug)]
        struct Outer(std::num::ParseIntError);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bad config")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let inner = "-".parse::<u8>().unwrap_err();
        let err = Error::from(Outer(inner));
        assert_eq!(err.error_type, "Outer");
        assert_eq!(err.message, "bad config: invalid digit found in string");
    }

    #[test]
    fn constructors() {
        assert_eq!(
            Error::new("ValidationError", "name is empty"),
            Error {
                error_type: "ValidationError".into(),
                message: "name is empty".into()
            }
        );
        assert_eq!(Error::msg("boom").error_type, "Error");
    }
}
