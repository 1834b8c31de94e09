//! Reader for the 2021 per-invocation trace, `AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt`.
//!
//! Schema (Azure/AzurePublicDataset, `AzureFunctionsInvocationTrace2021.md`, revision 1; Zhang et al., SOSP'21):
//! comma-separated with header `app,func,end_timestamp,duration`; `app` and `func` are hashed ids (`func` unique
//! only within its app); `end_timestamp` is when the invocation ended and `duration` how long it ran, both in
//! (fractional) seconds from the start of the two-week trace. Rows are roughly, not strictly, ordered by end time,
//! so start times are not sorted: a replay must reorder within a window.

use std::io::BufRead;

use super::{AzureTraceError, CsvLines, parse_f64, parse_id, split_exact};

const HEADER: [&str; 4] = ["app", "func", "end_timestamp", "duration"];

/// One invocation, in nanoseconds from the start of the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub app: String,
    pub func: String,
    /// `end_ns - duration_ns`, or 0 for an invocation that began before the trace did.
    pub start_ns: u64,
    pub end_ns: u64,
    pub duration_ns: u64,
}

/// Streams [`Invocation`]s from the 2021 trace file.
pub struct InvocationTraceReader<R> {
    lines: CsvLines<R>,
}

/// Seconds (as written in the trace) to nanoseconds, rounded to the nearest.
fn seconds_to_ns(s: f64) -> Option<u64> {
    let ns = (s * 1e9).round();
    // Above ~584 years of nanoseconds a u64 overflows; no trace is that long.
    (ns < u64::MAX as f64).then_some(ns as u64)
}

impl<R: BufRead> InvocationTraceReader<R> {
    /// Reads and checks the header. `file` names the input in error messages.
    pub fn new(input: R, file: impl Into<String>) -> Result<Self, AzureTraceError> {
        let mut lines = CsvLines::new(input, file);
        lines.expect_header(&HEADER)?;
        Ok(Self { lines })
    }

    /// The 1-based line number of the row last read (for errors found by the caller).
    pub fn line(&self) -> u64 {
        self.lines.line
    }

    fn parse_row(&self) -> Result<Invocation, AzureTraceError> {
        let l = &self.lines;
        let f: [&str; 4] = split_exact(l)?;
        let app = parse_id(l, 1, HEADER[0], f[0])?;
        let func = parse_id(l, 2, HEADER[1], f[1])?;
        let time = |i: usize| -> Result<u64, AzureTraceError> {
            let s = parse_f64(l, i + 1, HEADER[i], f[i])?;
            seconds_to_ns(s).ok_or_else(|| {
                l.value_error(i + 1, HEADER[i], f[i], "a number of seconds below 1.8e10")
            })
        };
        let end_ns = time(2)?;
        let duration_ns = time(3)?;
        Ok(Invocation {
            app,
            func,
            start_ns: end_ns.saturating_sub(duration_ns),
            end_ns,
            duration_ns,
        })
    }
}

impl<R: BufRead> Iterator for InvocationTraceReader<R> {
    type Item = Result<Invocation, AzureTraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.lines.next_line() {
            Ok(true) => Some(self.parse_row()),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
