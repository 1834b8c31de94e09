//! The analysis of merged log events: pairing each `START` with its `REPORT`, writing the arrivals (one CSV per
//! function, as the `replay` traffic pattern reads them) and the per-minute timeline as they go, and keeping per
//! function the distributions of Duration, Init Duration, Restore Duration and Max Memory Used.
//!
//! Memory is bounded by the requests in flight (a `START` whose `REPORT` has not come yet) and the histograms;
//! a `START` still without its `REPORT` 16 minutes past its time (Lambda's longest timeout, 15 minutes, and one of
//! slack) is counted as a missing REPORT — the environment was stopped before it could write one.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hdrhistogram::Histogram;

use super::parse::Kind;
use super::read::Event;

/// Longest an invocation can run (900 s), plus a minute of slack for the log's own delays.
const LONGEST_NS: u64 = 960 * 1_000_000_000;
/// Histogram ceiling: an hour, in µs (durations are at most 900 s).
const MAX_US: u64 = 3_600_000_000;

/// Counts over all functions.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counts {
    pub starts: u64,
    pub reports: u64,
    /// `START`s never followed by their `REPORT` (a timeout that killed the runtime, or a log cut off).
    pub missing_reports: u64,
    /// `REPORT`s whose `START` was not in the logs (the export began mid-invocation, or the line was damaged).
    pub reports_without_start: u64,
    pub duplicate_starts: u64,
    /// `START`s without a time (they count, but cannot be replayed).
    pub untimed_starts: u64,
}

/// What the logs say about one function.
pub struct FunctionStats {
    pub name: Arc<str>,
    pub arrivals: u64,
    pub first_ns: Option<u64>,
    pub last_ns: u64,
    csv: BufWriter<File>,
    timeline: BufWriter<File>,
    minute: Option<Minute>,
    in_flight: u32,
    pub peak_concurrency: u32,
    pub reports: u64,
    pub cold_starts: u64,
    pub restores: u64,
    pub timeouts: u64,
    pub errors: u64,
    pub missing_reports: u64,
    pub duration_us: Histogram<u64>,
    pub init_us: Histogram<u64>,
    pub restore_us: Histogram<u64>,
    pub max_memory_mb: Histogram<u64>,
    /// `Memory Size` values and how often each was seen (a configuration change shows as two).
    pub memory_sizes: BTreeMap<u64, u64>,
    /// Durations of the invocations that timed out, µs.
    pub timeout_us: Histogram<u64>,
}

struct Minute {
    index: u64,
    arrivals: u64,
    cold_starts: u64,
    peak: u32,
}

fn histogram() -> Histogram<u64> {
    // 1 µs – 1 h at 3 significant digits; bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, MAX_US, 3).unwrap_or_else(|_| unreachable!())
}

fn record(h: &mut Histogram<u64>, ms: f64) {
    let us = (ms * 1000.0).round().clamp(1.0, MAX_US as f64) as u64;
    h.saturating_record(us);
}

/// The whole analysis.
/// A `START` waiting for its `REPORT`.
struct Pending {
    function: Arc<str>,
    expiry: (u64, u64),
    /// Counted in its function's concurrency (a `START` with a time).
    in_flight: bool,
}

pub struct Analysis {
    dir: PathBuf,
    /// The first arrival of all: time 0 of the replay.
    pub t0: Option<u64>,
    pub functions: BTreeMap<Arc<str>, FunctionStats>,
    /// `START`s waiting for their `REPORT`, by request id.
    pending: HashMap<String, Pending>,
    /// The same, by (time, sequence): the oldest expire first. Removed with their `REPORT`, so both hold only
    /// what is in flight (or about to be counted missing).
    expiry: BTreeMap<(u64, u64), String>,
    seq: u64,
    pub counts: Counts,
}

impl Analysis {
    /// Writes arrivals and timelines under `dir` (which exists).
    pub fn new(dir: &Path) -> Self {
        Analysis {
            dir: dir.to_path_buf(),
            t0: None,
            functions: BTreeMap::new(),
            pending: HashMap::new(),
            expiry: BTreeMap::new(),
            seq: 0,
            counts: Counts::default(),
        }
    }

    fn function(&mut self, name: &Arc<str>) -> std::io::Result<&mut FunctionStats> {
        if !self.functions.contains_key(name) {
            let file = |sub: &str, header: &str| -> std::io::Result<BufWriter<File>> {
                let dir = self.dir.join(sub);
                std::fs::create_dir_all(&dir)?;
                let mut w = BufWriter::new(File::create(
                    dir.join(format!("{}.csv", super::function_name(name))),
                )?);
                w.write_all(header.as_bytes())?;
                Ok(w)
            };
            let stats = FunctionStats {
                name: name.clone(),
                arrivals: 0,
                first_ns: None,
                last_ns: 0,
                csv: file(
                    "arrivals",
                    &format!(
                        "# arrivals of {name}: seconds from the first arrival in the logs\ntime_s\n"
                    ),
                )?,
                timeline: file(
                    "timeline",
                    "minute,start_s,arrivals,cold_starts,peak_concurrency\n",
                )?,
                minute: None,
                in_flight: 0,
                peak_concurrency: 0,
                reports: 0,
                cold_starts: 0,
                restores: 0,
                timeouts: 0,
                errors: 0,
                missing_reports: 0,
                duration_us: histogram(),
                init_us: histogram(),
                restore_us: histogram(),
                max_memory_mb: Histogram::new_with_bounds(1, 1 << 20, 3)
                    .unwrap_or_else(|_| unreachable!()),
                memory_sizes: BTreeMap::new(),
                timeout_us: histogram(),
            };
            self.functions.insert(name.clone(), stats);
        }
        self.functions
            .get_mut(name)
            .ok_or_else(|| std::io::Error::other("function just inserted"))
    }

    /// Takes one event, in time order.
    pub fn event(&mut self, e: Event) -> std::io::Result<()> {
        self.expire(e.time_ns);
        match e.kind {
            Kind::Start { request_id } => {
                self.counts.starts += 1;
                if self.pending.contains_key(&request_id) {
                    self.counts.duplicate_starts += 1;
                    return Ok(());
                }
                self.seq += 1;
                let key = (e.time_ns, self.seq);
                self.expiry.insert(key, request_id.clone());
                let pending = Pending {
                    function: e.function.clone(),
                    expiry: key,
                    in_flight: e.timed,
                };
                self.pending.insert(request_id, pending);
                if !e.timed {
                    // It pairs with its REPORT, but has no time to replay.
                    self.counts.untimed_starts += 1;
                    return Ok(());
                }
                let t0 = *self.t0.get_or_insert(e.time_ns);
                let f = self.function(&e.function)?;
                f.arrivals += 1;
                f.first_ns.get_or_insert(e.time_ns);
                f.last_ns = e.time_ns;
                f.in_flight += 1;
                f.peak_concurrency = f.peak_concurrency.max(f.in_flight);
                let offset = e.time_ns.saturating_sub(t0);
                writeln!(
                    f.csv,
                    "{}.{:06}",
                    offset / 1_000_000_000,
                    offset % 1_000_000_000 / 1000
                )?;
                let index = offset / 60_000_000_000;
                f.minute_at(index)?;
                if let Some(m) = f.minute.as_mut() {
                    m.arrivals += 1;
                    m.peak = m.peak.max(f.in_flight);
                }
            }
            Kind::Report { request_id, report } => {
                self.counts.reports += 1;
                let function = match self.pending.remove(&request_id) {
                    Some(p) => {
                        self.expiry.remove(&p.expiry);
                        if p.in_flight
                            && let Some(f) = self.functions.get_mut(&p.function)
                        {
                            f.in_flight = f.in_flight.saturating_sub(1);
                        }
                        p.function
                    }
                    None => {
                        self.counts.reports_without_start += 1;
                        e.function
                    }
                };
                let f = self.function(&function)?;
                f.reports += 1;
                record(&mut f.duration_us, report.duration_ms);
                if let Some(ms) = report.init_ms {
                    f.cold_starts += 1;
                    record(&mut f.init_us, ms);
                }
                if let Some(ms) = report.restore_ms {
                    f.cold_starts += 1;
                    f.restores += 1;
                    record(&mut f.restore_us, ms);
                }
                if (report.init_ms.is_some() || report.restore_ms.is_some())
                    && let Some(m) = f.minute.as_mut()
                {
                    m.cold_starts += 1;
                }
                if let Some(mb) = report.max_memory_used_mb {
                    f.max_memory_mb.saturating_record(mb.max(1));
                }
                if let Some(mb) = report.memory_size_mb {
                    *f.memory_sizes.entry(mb).or_default() += 1;
                }
                match report.status.as_deref() {
                    Some("timeout") => {
                        f.timeouts += 1;
                        record(&mut f.timeout_us, report.duration_ms);
                    }
                    Some(_) => f.errors += 1,
                    None => {}
                }
            }
            Kind::Malformed | Kind::Other | Kind::End | Kind::InitStart { .. } => {}
        }
        Ok(())
    }

    /// Counts `START`s whose `REPORT` can no longer come.
    fn expire(&mut self, now: u64) {
        while let Some((&(t, _), _)) = self.expiry.first_key_value() {
            if t.saturating_add(LONGEST_NS) > now {
                break;
            }
            let Some((_, id)) = self.expiry.pop_first() else {
                break;
            };
            if let Some(p) = self.pending.remove(&id) {
                self.counts.missing_reports += 1;
                if let Some(f) = self.functions.get_mut(&p.function) {
                    f.missing_reports += 1;
                    if p.in_flight {
                        f.in_flight = f.in_flight.saturating_sub(1);
                    }
                }
            }
        }
    }

    /// Ends the analysis: what is still in flight has no REPORT; files are flushed.
    pub fn finish(&mut self) -> std::io::Result<()> {
        self.expire(u64::MAX);
        for f in self.functions.values_mut() {
            f.minute_at(u64::MAX)?;
            f.csv.flush()?;
            f.timeline.flush()?;
        }
        Ok(())
    }
}

impl FunctionStats {
    /// Moves the timeline to minute `index`, writing the finished minute's row.
    fn minute_at(&mut self, index: u64) -> std::io::Result<()> {
        if self.minute.as_ref().is_some_and(|m| m.index == index) {
            return Ok(());
        }
        if let Some(m) = self.minute.take() {
            writeln!(
                self.timeline,
                "{},{},{},{},{}",
                m.index,
                m.index * 60,
                m.arrivals,
                m.cold_starts,
                m.peak
            )?;
        }
        if index != u64::MAX {
            self.minute = Some(Minute {
                index,
                arrivals: 0,
                cold_starts: 0,
                peak: self.in_flight,
            });
        }
        Ok(())
    }

    /// The most common `Memory Size`.
    pub fn memory_size_mb(&self) -> Option<u64> {
        self.memory_sizes
            .iter()
            .max_by_key(|(mb, n)| (**n, std::cmp::Reverse(**mb)))
            .map(|(mb, _)| *mb)
    }
}
