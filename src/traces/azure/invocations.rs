//! Reader for the 2019 trace's per-minute invocation counts, `invocations_per_function_md.anon.dNN.csv`.
//!
//! Schema (Azure/AzurePublicDataset, `AzureFunctionsDataset2019.md`, "Function Invocation Counts"): header
//! `HashOwner,HashApp,HashFunction,Trigger,1,2,…,1440`; one row per function and day; the ids are HMAC-SHA256 hashes
//! (consistent across the invocation, duration and memory files); `Trigger` is one of the paper's 7 trigger groups;
//! columns `1`..`1440` count the function's invocations in each minute of the 24 hours (recorded after the functions
//! ran). A function is unique by (owner, app, function): function hashes are salted per app.

use std::fmt;
use std::io::BufRead;

use super::{AzureTraceError, CsvLines, parse_id};

/// Most invocations of one function in one minute: far above the busiest function of the public traces (a replay
/// spreads a minute's count into that many arrivals at once), so a corrupt count cannot exhaust memory.
pub const MAX_COUNT_PER_MINUTE: u32 = 10_000_000;

/// Minutes in one day file: the number of count columns.
pub const MINUTES_PER_DAY: usize = 1440;

/// The paper's trigger groups, as spelled in the `Trigger` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// HTTP.
    Http,
    /// Timer (cron-like).
    Timer,
    /// Event Hub, Event Grid.
    Event,
    /// Service Bus, Queue Storage, RabbitMQ, Kafka, MQTT.
    Queue,
    /// Blob Storage, CosmosDB, Redis, File.
    Storage,
    /// Durable Functions activities and orchestrations.
    Orchestration,
    /// All other triggers.
    Others,
}

impl Trigger {
    /// All groups, in the schema document's order.
    pub const ALL: [Trigger; 7] = [
        Trigger::Http,
        Trigger::Timer,
        Trigger::Event,
        Trigger::Queue,
        Trigger::Storage,
        Trigger::Orchestration,
        Trigger::Others,
    ];

    /// The spelling used in the trace.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Http => "http",
            Trigger::Timer => "timer",
            Trigger::Event => "event",
            Trigger::Queue => "queue",
            Trigger::Storage => "storage",
            Trigger::Orchestration => "orchestration",
            Trigger::Others => "others",
        }
    }

    /// Parses the trace's spelling (exact, lower case).
    pub fn parse(s: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row: a function's invocation counts for each minute of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCounts {
    pub owner: String,
    pub app: String,
    pub function: String,
    pub trigger: Trigger,
    /// `counts[m]` invocations in minute `m` (0-based; the file's column `m + 1`). Boxed: 5.6 KiB per row.
    pub counts: Box<[u32; MINUTES_PER_DAY]>,
}

impl FunctionCounts {
    /// Invocations over the whole day.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }
}

/// Streams [`FunctionCounts`] rows from an `invocations_per_function_md.anon.dNN.csv` file.
pub struct InvocationCountsReader<R> {
    lines: CsvLines<R>,
}

impl<R: BufRead> InvocationCountsReader<R> {
    /// Reads and checks the header. `file` names the input in error messages.
    pub fn new(input: R, file: impl Into<String>) -> Result<Self, AzureTraceError> {
        let mut lines = CsvLines::new(input, file);
        let minutes: Vec<String> = (1..=MINUTES_PER_DAY).map(|m| m.to_string()).collect();
        let mut header = vec!["HashOwner", "HashApp", "HashFunction", "Trigger"];
        header.extend(minutes.iter().map(String::as_str));
        lines.expect_header(&header)?;
        Ok(Self { lines })
    }

    /// The 1-based line number of the row last read (for errors found by the caller).
    pub fn line(&self) -> u64 {
        self.lines.line
    }

    fn parse_row(&self) -> Result<FunctionCounts, AzureTraceError> {
        const FIXED: usize = 4;
        let lines = &self.lines;
        let mut fields = lines.buf.split(',');
        let mut fixed = [""; FIXED];
        for (i, slot) in fixed.iter_mut().enumerate() {
            *slot = fields
                .next()
                .ok_or_else(|| lines.column_count_error(FIXED + MINUTES_PER_DAY, i))?;
        }
        let owner = parse_id(lines, 1, "HashOwner", fixed[0])?;
        let app = parse_id(lines, 2, "HashApp", fixed[1])?;
        let function = parse_id(lines, 3, "HashFunction", fixed[2])?;
        let trigger = Trigger::parse(fixed[3]).ok_or_else(|| {
            lines.value_error(
                4,
                "Trigger",
                fixed[3],
                "one of http, timer, event, queue, storage, orchestration, others",
            )
        })?;
        let mut counts = Box::new([0u32; MINUTES_PER_DAY]);
        let mut n = FIXED;
        for field in fields {
            if n - FIXED < MINUTES_PER_DAY {
                let minute = n - FIXED + 1;
                counts[minute - 1] = field
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|c| *c <= MAX_COUNT_PER_MINUTE)
                    .ok_or_else(|| {
                        lines.value_error(
                            n + 1,
                            &minute.to_string(),
                            field,
                            "an invocation count from 0 to 10000000",
                        )
                    })?;
            }
            n += 1;
        }
        if n != FIXED + MINUTES_PER_DAY {
            return Err(lines.column_count_error(FIXED + MINUTES_PER_DAY, n));
        }
        Ok(FunctionCounts {
            owner,
            app,
            function,
            trigger,
            counts,
        })
    }
}

impl<R: BufRead> Iterator for InvocationCountsReader<R> {
    type Item = Result<FunctionCounts, AzureTraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.lines.next_line() {
            Ok(true) => Some(self.parse_row()),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
