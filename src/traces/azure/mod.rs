//! Readers for the Azure Functions public traces, and the helpers that turn them into arrivals.
//!
//! The formats are documented in the Azure/AzurePublicDataset repository:
//! - 2019 (`AzureFunctionsDataset2019.md`, revision 2; Shahrad et al., "Serverless in the Wild", USENIX ATC'20):
//!   per-minute invocation counts ([`invocations`]), per-function duration percentiles ([`durations`]) and
//!   per-app memory percentiles ([`memory`]), one CSV file of each per 24-hour day.
//! - 2021 (`AzureFunctionsInvocationTrace2021.md`, revision 1; Zhang et al., SOSP'21): one row per invocation
//!   ([`invocations2021`]).
//!
//! Every reader streams: it reads one line at a time from a [`std::io::BufRead`] and yields one record per row, so a
//! day of the 2019 trace (tens of thousands of 1440-column rows) is never held in memory. Malformed rows come back as
//! [`AzureTraceError`]s naming the file, line, column, field and value; the reader then goes on with the next row.
//! [`spread`] places a minute's count of invocations at nanosecond times; [`select`] picks functions (by trigger,
//! top-N, seeded sample) in bounded memory.

pub mod durations;
pub mod invocations;
pub mod invocations2021;
pub mod memory;
pub mod select;
pub mod spread;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

pub use durations::{DurationPercentiles, DurationsReader};
pub use invocations::{FunctionCounts, InvocationCountsReader, MINUTES_PER_DAY, Trigger};
pub use invocations2021::{Invocation, InvocationTraceReader};
pub use memory::{AppMemory, MemoryReader};
pub use select::{FunctionKey, reservoir_sample, sample_functions, top_n, with_triggers};
pub use spread::{Spread, spread, spread_day};

/// Everything that can go wrong reading a trace file. `file` is the name the reader was given (usually the path).
#[derive(Debug, thiserror::Error)]
pub enum AzureTraceError {
    #[error("{file}: cannot open: {source}")]
    Open {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: cannot read line {line}: {source}")]
    Io {
        file: String,
        line: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: the file is empty; expected the header `{expected}`")]
    Empty { file: String, expected: String },
    #[error("{file}:1:{column}: header field `{found}` should be `{expected}`")]
    Header {
        file: String,
        column: usize,
        expected: String,
        found: String,
    },
    #[error("{file}:{line}: expected {expected} comma-separated columns, found {found}")]
    ColumnCount {
        file: String,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("{file}:{line}:{column}: field `{field}` has value `{value}`; expected {allowed}")]
    Value {
        file: String,
        line: u64,
        column: usize,
        field: String,
        value: String,
        allowed: String,
    },
}

/// Opens a trace file for streaming; the path becomes the file name in error messages.
pub fn open(path: &Path) -> Result<BufReader<File>, AzureTraceError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| AzureTraceError::Open {
            file: path.display().to_string(),
            source,
        })
}

/// Line-at-a-time CSV splitting shared by the readers. The public traces have no quoting (ids are hex hashes,
/// triggers are plain words), so a plain split on `,` is exact.
struct CsvLines<R> {
    input: R,
    file: String,
    line: u64,
    buf: String,
    /// Set after an I/O error: a broken stream yields nothing more.
    failed: bool,
}

impl<R: BufRead> CsvLines<R> {
    fn new(input: R, file: impl Into<String>) -> Self {
        Self {
            input,
            file: file.into(),
            line: 0,
            buf: String::new(),
            failed: false,
        }
    }

    /// Reads the next non-empty line into `self.buf` (without its line ending). `Ok(false)` at end of file.
    fn next_line(&mut self) -> Result<bool, AzureTraceError> {
        if self.failed {
            return Ok(false);
        }
        loop {
            self.buf.clear();
            self.line += 1;
            match self.input.read_line(&mut self.buf) {
                Ok(0) => return Ok(false),
                Ok(_) => {
                    let trimmed = self.buf.trim_end_matches(['\n', '\r']).len();
                    self.buf.truncate(trimmed);
                    if !self.buf.is_empty() {
                        return Ok(true);
                    }
                }
                Err(source) => {
                    self.failed = true;
                    return Err(AzureTraceError::Io {
                        file: self.file.clone(),
                        line: self.line,
                        source,
                    });
                }
            }
        }
    }

    /// Reads and checks the header: its fields must be exactly `expected`.
    fn expect_header(&mut self, expected: &[&str]) -> Result<(), AzureTraceError> {
        if !self.next_line()? {
            return Err(AzureTraceError::Empty {
                file: self.file.clone(),
                expected: expected.join(","),
            });
        }
        let found: Vec<&str> = self.buf.split(',').collect();
        for (i, want) in expected.iter().enumerate() {
            let got = found.get(i).copied().unwrap_or("");
            if got.trim() != *want {
                return Err(AzureTraceError::Header {
                    file: self.file.clone(),
                    column: i + 1,
                    expected: (*want).to_string(),
                    found: got.to_string(),
                });
            }
        }
        if found.len() > expected.len() {
            return Err(AzureTraceError::Header {
                file: self.file.clone(),
                column: expected.len() + 1,
                expected: "(end of line)".to_string(),
                found: found[expected.len()].to_string(),
            });
        }
        Ok(())
    }

    /// The error for field `column` (1-based) of the current line.
    fn value_error(
        &self,
        column: usize,
        field: &str,
        value: &str,
        allowed: &str,
    ) -> AzureTraceError {
        AzureTraceError::Value {
            file: self.file.clone(),
            line: self.line,
            column,
            field: field.to_string(),
            value: value.to_string(),
            allowed: allowed.to_string(),
        }
    }

    fn column_count_error(&self, expected: usize, found: usize) -> AzureTraceError {
        AzureTraceError::ColumnCount {
            file: self.file.clone(),
            line: self.line,
            expected,
            found,
        }
    }
}

/// Splits the current line into exactly `N` fields, or reports how many it had.
fn split_exact<const N: usize, R: BufRead>(
    lines: &CsvLines<R>,
) -> Result<[&str; N], AzureTraceError> {
    let mut out = [""; N];
    let mut n = 0;
    for field in lines.buf.split(',') {
        if n < N {
            out[n] = field;
        }
        n += 1;
    }
    if n != N {
        return Err(lines.column_count_error(N, n));
    }
    Ok(out)
}

/// Parses a hash-like id (non-empty, no spaces).
fn parse_id<R: BufRead>(
    lines: &CsvLines<R>,
    column: usize,
    field: &str,
    value: &str,
) -> Result<String, AzureTraceError> {
    if value.is_empty() || value.contains(char::is_whitespace) {
        return Err(lines.value_error(column, field, value, "a non-empty id without spaces"));
    }
    Ok(value.to_string())
}

/// Parses a finite, non-negative decimal number.
fn parse_f64<R: BufRead>(
    lines: &CsvLines<R>,
    column: usize,
    field: &str,
    value: &str,
) -> Result<f64, AzureTraceError> {
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(lines.value_error(column, field, value, "a finite number >= 0")),
    }
}

/// Parses a non-negative integer count that fits in `u64`.
fn parse_u64<R: BufRead>(
    lines: &CsvLines<R>,
    column: usize,
    field: &str,
    value: &str,
) -> Result<u64, AzureTraceError> {
    value.trim().parse::<u64>().map_err(|_| {
        lines.value_error(
            column,
            field,
            value,
            "an integer from 0 to 18446744073709551615",
        )
    })
}
