//! Building [`ScenarioError`]s: byte offsets to 1-based line/column, toml's own errors, and positionless errors
//! (a missing file).

use std::ops::Range;
use std::path::Path;

use super::ScenarioError;

/// The text of one scenario file, for turning spans into positions.
pub(crate) struct Source<'a> {
    pub file: String,
    pub text: &'a str,
}

impl<'a> Source<'a> {
    pub fn new(path: &Path, text: &'a str) -> Self {
        Source {
            file: path.display().to_string(),
            text,
        }
    }

    /// An error at the start of `span`.
    pub fn err(&self, span: &Range<usize>, message: impl Into<String>) -> ScenarioError {
        let (line, column) = line_col(self.text, span.start);
        ScenarioError {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        }
    }

    /// Converts one of toml's errors (syntax, unknown field, wrong type), keeping its position and naming the key
    /// path when toml knows it.
    pub fn toml_error(&self, error: &toml::de::Error) -> ScenarioError {
        // serde names Rust types; say what a scenario author writes.
        let mut message = error
            .message()
            .trim_end()
            .replace("expected i64", "expected an integer")
            .replace("expected f64", "expected a number")
            .replace("expected u64", "expected a non-negative integer");
        // toml names the key path only in its `Display` without input ("…\nin `a.b`").
        let mut bare = error.clone();
        bare.set_input(None);
        let shown = bare.to_string();
        if let Some(keys) = shown.lines().rev().find_map(|l| l.strip_prefix("in `")) {
            let keys = keys.trim_end_matches('`');
            if !keys.is_empty() && !message.contains(keys) {
                message = format!("{keys}: {message}");
            }
            if ["function", "traffic", "queue", "event_source"].contains(&keys)
                && message.contains("expected a sequence")
            {
                message.push_str(&format!(
                    " (write [[{keys}]], with double brackets, for each entry)"
                ));
            }
        }
        match error.span() {
            Some(span) => self.err(&span, message),
            None => ScenarioError {
                file: self.file.clone(),
                line: 1,
                column: 1,
                message,
            },
        }
    }
}

/// An error with no position in the file (line and column 0).
pub(crate) fn unpositioned(path: &Path, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        file: path.display().to_string(),
        line: 0,
        column: 0,
        message: message.into(),
    }
}

/// 1-based (line, column) of byte `offset` in `text`; the column counts characters. Offsets past the end or inside a
/// multi-byte character are clamped, never a panic.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "ab\ncdé\nf";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 1), (1, 2));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 7), (2, 4)); // after 'é' (2 bytes)
        assert_eq!(line_col(t, 6), (2, 3)); // inside 'é': clamped back
        assert_eq!(line_col(t, 999), (3, 2));
        assert_eq!(line_col("", 5), (1, 1));
    }
}
