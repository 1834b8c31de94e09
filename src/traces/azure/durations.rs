//! Reader for the 2019 trace's per-function execution times, `function_durations_percentiles.anon.dNN.csv`.
//!
//! Schema (Azure/AzurePublicDataset, `AzureFunctionsDataset2019.md`, "Function Execution Duration"): header
//! `HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,percentile_Average_1,
//! percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100`.
//! Times are milliseconds and exclude cold start. The percentiles are weighted percentiles of 30-second *averages*,
//! not of single invocations. `Minimum`/`Maximum` were "not recorded" for a few runtime versions, so an empty cell
//! there reads as `None`.

use std::io::BufRead;

use super::{AzureTraceError, CsvLines, parse_f64, parse_id, parse_u64, split_exact};

const HEADER: [&str; 14] = [
    "HashOwner",
    "HashApp",
    "HashFunction",
    "Average",
    "Count",
    "Minimum",
    "Maximum",
    "percentile_Average_0",
    "percentile_Average_1",
    "percentile_Average_25",
    "percentile_Average_50",
    "percentile_Average_75",
    "percentile_Average_99",
    "percentile_Average_100",
];

/// The percentile levels of [`DurationPercentiles::percentiles_ms`], in order.
pub const DURATION_PERCENTILES: [u8; 7] = [0, 1, 25, 50, 75, 99, 100];

/// One row: a function's execution times over one day, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationPercentiles {
    pub owner: String,
    pub app: String,
    pub function: String,
    pub average_ms: f64,
    /// Executions the average was computed over (may differ from the invocation file's total).
    pub count: u64,
    pub minimum_ms: Option<f64>,
    pub maximum_ms: Option<f64>,
    /// At the levels of [`DURATION_PERCENTILES`] (0, 1, 25, 50, 75, 99, 100).
    pub percentiles_ms: [f64; 7],
}

/// Streams [`DurationPercentiles`] rows from a `function_durations_percentiles.anon.dNN.csv` file.
pub struct DurationsReader<R> {
    lines: CsvLines<R>,
}

impl<R: BufRead> DurationsReader<R> {
    /// Reads and checks the header. `file` names the input in error messages.
    pub fn new(input: R, file: impl Into<String>) -> Result<Self, AzureTraceError> {
        let mut lines = CsvLines::new(input, file);
        lines.expect_header(&HEADER)?;
        Ok(Self { lines })
    }

    fn parse_row(&self) -> Result<DurationPercentiles, AzureTraceError> {
        let l = &self.lines;
        let f: [&str; 14] = split_exact(l)?;
        let optional = |i: usize| -> Result<Option<f64>, AzureTraceError> {
            if f[i].trim().is_empty() {
                Ok(None)
            } else {
                parse_f64(l, i + 1, HEADER[i], f[i]).map(Some)
            }
        };
        let mut percentiles_ms = [0.0; 7];
        for (k, p) in percentiles_ms.iter_mut().enumerate() {
            *p = parse_f64(l, 8 + k, HEADER[7 + k], f[7 + k])?;
        }
        Ok(DurationPercentiles {
            owner: parse_id(l, 1, HEADER[0], f[0])?,
            app: parse_id(l, 2, HEADER[1], f[1])?,
            function: parse_id(l, 3, HEADER[2], f[2])?,
            average_ms: parse_f64(l, 4, HEADER[3], f[3])?,
            count: parse_u64(l, 5, HEADER[4], f[4])?,
            minimum_ms: optional(5)?,
            maximum_ms: optional(6)?,
            percentiles_ms,
        })
    }
}

impl<R: BufRead> Iterator for DurationsReader<R> {
    type Item = Result<DurationPercentiles, AzureTraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.lines.next_line() {
            Ok(true) => Some(self.parse_row()),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
