//! Reader for the 2019 trace's per-app allocated memory, `app_memory_percentiles.anon.dNN.csv`.
//!
//! Schema (Azure/AzurePublicDataset, `AzureFunctionsDataset2019.md`, "Application Memory"): header
//! `HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,AverageAllocatedMb_pct5,
//! AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,
//! AverageAllocatedMb_pct99,AverageAllocatedMb_pct100`. Memory is per app (Azure's unit of allocation), in MB of
//! committed virtual memory; the percentiles are of one-minute averages of 5-second samples. There is no 0th
//! percentile (it was mis-logged), and only days 1..12 exist.

use std::io::BufRead;

use super::{AzureTraceError, CsvLines, parse_f64, parse_id, parse_u64, split_exact};

const HEADER: [&str; 12] = [
    "HashOwner",
    "HashApp",
    "SampleCount",
    "AverageAllocatedMb",
    "AverageAllocatedMb_pct1",
    "AverageAllocatedMb_pct5",
    "AverageAllocatedMb_pct25",
    "AverageAllocatedMb_pct50",
    "AverageAllocatedMb_pct75",
    "AverageAllocatedMb_pct95",
    "AverageAllocatedMb_pct99",
    "AverageAllocatedMb_pct100",
];

/// The percentile levels of [`AppMemory::percentiles_mb`], in order.
pub const MEMORY_PERCENTILES: [u8; 8] = [1, 5, 25, 50, 75, 95, 99, 100];

/// One row: an app's allocated memory over one day, in MB.
#[derive(Debug, Clone, PartialEq)]
pub struct AppMemory {
    pub owner: String,
    pub app: String,
    pub sample_count: u64,
    pub average_mb: f64,
    /// At the levels of [`MEMORY_PERCENTILES`] (1, 5, 25, 50, 75, 95, 99, 100).
    pub percentiles_mb: [f64; 8],
}

/// Streams [`AppMemory`] rows from an `app_memory_percentiles.anon.dNN.csv` file.
pub struct MemoryReader<R> {
    lines: CsvLines<R>,
}

impl<R: BufRead> MemoryReader<R> {
    /// Reads and checks the header. `file` names the input in error messages.
    pub fn new(input: R, file: impl Into<String>) -> Result<Self, AzureTraceError> {
        let mut lines = CsvLines::new(input, file);
        lines.expect_header(&HEADER)?;
        Ok(Self { lines })
    }

    fn parse_row(&self) -> Result<AppMemory, AzureTraceError> {
        let l = &self.lines;
        let f: [&str; 12] = split_exact(l)?;
        let mut percentiles_mb = [0.0; 8];
        for (k, p) in percentiles_mb.iter_mut().enumerate() {
            *p = parse_f64(l, 5 + k, HEADER[4 + k], f[4 + k])?;
        }
        Ok(AppMemory {
            owner: parse_id(l, 1, HEADER[0], f[0])?,
            app: parse_id(l, 2, HEADER[1], f[1])?,
            sample_count: parse_u64(l, 3, HEADER[2], f[2])?,
            average_mb: parse_f64(l, 4, HEADER[3], f[3])?,
            percentiles_mb,
        })
    }
}

impl<R: BufRead> Iterator for MemoryReader<R> {
    type Item = Result<AppMemory, AzureTraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.lines.next_line() {
            Ok(true) => Some(self.parse_row()),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
