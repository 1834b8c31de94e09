//! Unit tests of scenario loading: valid files and their defaults, every kind of error with its position, and
//! garbage input.

mod errors;
mod events;
mod events_variants;
mod garbage;
mod keep_alive;
mod mitigations;
mod services;
mod trace;
mod valid;
mod variants;

use std::path::Path;

use super::{Scenario, ScenarioError, parse};

/// A path whose directory does not exist: relative paths in tests resolve from the current directory (the crate
/// root under `cargo test`), where `functions/hello` exists.
pub(super) const PATH: &str = "/nonexistent/scenarios/test.toml";

pub(super) const HEADER: &str = r#"
[simulation]
duration = "10m"

[[function]]
name = "api"
code = "functions/hello"
"#;

pub(super) fn ok(text: &str) -> Scenario {
    match parse(text, Path::new(PATH)) {
        Ok(s) => s,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

pub(super) fn err(text: &str) -> ScenarioError {
    match parse(text, Path::new(PATH)) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

/// 1-based (line, column) of the first occurrence of `needle` in `text`.
pub(super) fn pos(text: &str, needle: &str) -> (usize, usize) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in text"));
    super::error::line_col(text, at)
}

/// Asserts the error's message and that it points at `needle`.
pub(super) fn assert_err(text: &str, needle: &str, message: &str) {
    let e = err(text);
    assert_eq!(e.message, message, "full error: {e}");
    assert_eq!(
        (e.line, e.column),
        pos(text, needle),
        "position of {needle:?} in error: {e}"
    );
    assert_eq!(e.file, PATH);
}
