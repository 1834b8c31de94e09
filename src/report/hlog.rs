//! The HdrHistogram interval log (`.hlog`) of end-to-end latency, written with hdrhistogram's
//! `IntervalLogWriterBuilder` and readable by its `IntervalLogIterator` and by Java's `HistogramLogReader` /
//! `HistogramLogProcessor`.
//!
//! - Header comments (format version 1.3, scenario, seed, units), then `StartTime` 0 and `BaseTime` 0: interval
//!   timestamps are seconds since the start of the run (simulated time).
//! - Values are microseconds; the "max" column is divided by 1000 (milliseconds), as `MaxValueDivisor` notes.
//! - One line per interval of [`super::RunReport::hlog_interval_ns`] (1 s, doubled as needed so that at most
//!   128 intervals cover the run; invocations go in the interval of their end time): first the untagged
//!   histogram of all functions, then one per function tagged with its name (characters not allowed in a tag —
//!   ',', ' ', CR, LF — become '_'). Every interval is written, empty ones included, so each series is regular.
//!   The last interval's length is cut at the end of the run.
//! - Histograms are compressed V2 (`V2DeflateSerializer`), as Java writes them.

use std::io::{self, Write};
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{
    IntervalLogWriterBuilder, IntervalLogWriterError, Tag,
};

use super::RunReport;
use super::SIGFIG;

/// `name` with the characters an hlog tag cannot hold replaced by '_'.
pub(crate) fn tag_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if matches!(c, ',' | ' ' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn io_error<E: std::fmt::Debug>(e: IntervalLogWriterError<E>) -> io::Error {
    match e {
        IntervalLogWriterError::IoError(e) => e,
        IntervalLogWriterError::SerializeError(e) => {
            io::Error::other(format!("histogram serialization: {e:?}"))
        }
    }
}

pub(super) fn write_hlog<W: Write>(r: &RunReport, mut w: W) -> io::Result<()> {
    let width_ns = r.hlog_interval_ns.max(1);
    let mut builder = IntervalLogWriterBuilder::new();
    builder
        .add_comment("[Histogram log format version 1.3]")
        .add_comment(&format!(
            "lambda-sim {}: scenario {} seed {} mode {}",
            env!("CARGO_PKG_VERSION"),
            r.scenario,
            r.seed,
            r.mode_str()
        ))
        .add_comment(&format!(
            "end-to-end latency in microseconds (max column in ms), by invocation end time, {} s intervals; \
             untagged = all functions, Tag=<function>",
            width_ns as f64 / 1e9
        ))
        .with_start_time(UNIX_EPOCH)
        .with_base_time(UNIX_EPOCH)
        .with_max_value_divisor(1000.0);
    let mut serializer = V2DeflateSerializer::new();
    let mut log = builder.begin_log_with(&mut w, &mut serializer)?;

    let empty: Histogram<u64> = Histogram::new(SIGFIG).expect("valid histogram");
    let tags: Vec<String> = r.functions.iter().map(|f| tag_name(&f.name)).collect();
    let count = r
        .functions
        .iter()
        .map(|f| f.intervals.len())
        .chain([r.total.intervals.len()])
        .max()
        .unwrap_or(0);
    for i in 0..count as u64 {
        let start_ns = i * width_ns;
        let len_ns = if start_ns < r.end_ns {
            width_ns.min(r.end_ns - start_ns)
        } else {
            width_ns
        };
        let (start, len) = (Duration::from_nanos(start_ns), Duration::from_nanos(len_ns));
        let total = r
            .total
            .intervals
            .get(i as usize)
            .and_then(|h| h.as_ref())
            .unwrap_or(&empty);
        log.write_histogram(total, start, len, None)
            .map_err(io_error)?;
        // Functions without intervals (a run of many functions keeps the total's only) have no series.
        for (f, tag) in r.functions.iter().zip(&tags) {
            if f.intervals.is_empty() {
                continue;
            }
            let h = f
                .intervals
                .get(i as usize)
                .and_then(|h| h.as_ref())
                .unwrap_or(&empty);
            log.write_histogram(h, start, len, Tag::new(tag))
                .map_err(io_error)?;
        }
    }
    drop(log);
    w.flush()
}
