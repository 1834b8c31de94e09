//! Importers: turn what a user already has into a scenario — an AWS SAM / CloudFormation template
//! ([`sam`]) and the logs Lambda wrote ([`logs`]).
//!
//! Both write commented TOML ([`draft`]) that `lambda-sim validate` accepts as it is; what they cannot carry over
//! they list rather than drop.

pub mod draft;
pub mod logs;
pub mod sam;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Template { path: String, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}
