//! [`TraceStream`]: the second pass, the selected functions' arrivals in time order, lazily.
//!
//! - 2019: the invocations file is read again, keeping only the selected rows' nonzero per-minute counts in the
//!   window, transposed into one bucket per minute (function, count); arrivals are then made minute by minute:
//!   each count is spread within its minute (seeded), the minute's arrivals are sorted by (time, function) and
//!   emitted. This is the k-way merge of the functions' streams with memory of one minute of arrivals. Each
//!   arrival's duration is drawn from its function's percentiles.
//! - 2021: rows are streamed; each selected row in the window goes into a min-heap by replayed start, and leaves it
//!   once the newest start read is more than [`REORDER_NS`] later, which [`super::select::check_order`] guarantees
//!   no later row can undercut.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::BufReader;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::scenario::trace_error;
use crate::scenario::{ScenarioError, TraceFormat, TraceSpec};
use crate::traces::azure::spread::MINUTE_NS;
use crate::traces::azure::{InvocationCountsReader, InvocationTraceReader, Spread, open, spread};
use crate::traces::{
    REORDER_NS, check_order, draw_duration_ms, payload, replay_start, simulated_ns,
};

/// One replayed invocation.
#[derive(Debug, Clone)]
pub struct TraceArrival {
    /// Simulated time.
    pub time_ns: u64,
    /// Index into `Scenario::functions`.
    pub function: usize,
    /// `{"wait_ms": …}` for the stand-in handler.
    pub payload: Bytes,
}

/// The arrivals of a `[trace]`, in time order (ties: the function that comes first in the trace file).
pub struct TraceStream {
    window_start_ns: u64,
    speedup: f64,
    /// Arrivals at or after this simulated time are not replayed.
    end_ns: u64,
    /// Scenario function index of each selected function.
    functions: Vec<usize>,
    inner: Inner,
}

impl std::fmt::Debug for TraceStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceStream")
            .field("functions", &self.functions.len())
            .finish_non_exhaustive()
    }
}

enum Inner {
    Azure2019(Box<Stream2019>),
    Azure2021(Box<Stream2021>),
}

struct Stream2019 {
    spread: Spread,
    /// `buckets[i]`: (selected function, count) of minute `first_minute + i`, in file order.
    buckets: Vec<Vec<(u32, u32)>>,
    first_minute: u64,
    next_bucket: usize,
    /// The current minute's arrivals: (trace ns, selected function), sorted; `pos` is the next to emit.
    minute: Vec<(u64, u32)>,
    pos: usize,
    durations_ms: Vec<Option<[f64; 7]>>,
    default_duration_ms: f64,
    spread_rng: StdRng,
    duration_rng: StdRng,
}

struct Stream2021 {
    reader: InvocationTraceReader<BufReader<File>>,
    file: String,
    selected: BTreeMap<(String, String), u32>,
    window: (u64, u64),
    newest: (u64, u64),
    /// (replayed start, read order, selected function, duration ns).
    heap: BinaryHeap<Reverse<(u64, u64, u32, u64)>>,
    seq: u64,
    done: bool,
}

/// A seeded RNG of the trace replay, one per `stream` (spreading, durations).
fn trace_rng(seed: u64, stream: u64) -> StdRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[16..24].copy_from_slice(&stream.to_le_bytes());
    key[24..].copy_from_slice(b"lsim-trc");
    StdRng::from_seed(key)
}

impl TraceStream {
    /// Opens the trace for its second pass. `end_ns` is the simulation's duration: later arrivals are dropped.
    pub fn open(spec: &TraceSpec, seed: u64, end_ns: u64) -> Result<Self, ScenarioError> {
        let functions = spec.functions.iter().map(|f| f.function).collect();
        let inner = match spec.format {
            TraceFormat::Azure2019 => Inner::Azure2019(Box::new(Stream2019::open(spec, seed)?)),
            TraceFormat::Azure2021 => Inner::Azure2021(Box::new(Stream2021::open(spec)?)),
        };
        Ok(TraceStream {
            window_start_ns: spec.window_start_ns,
            speedup: spec.speedup,
            end_ns,
            functions,
            inner,
        })
    }

    /// The next arrival, or `None` at the end of the window (or of the simulation).
    pub fn next_arrival(&mut self) -> Result<Option<TraceArrival>, ScenarioError> {
        let next = match &mut self.inner {
            Inner::Azure2019(s) => s.next(),
            Inner::Azure2021(s) => s.next()?,
        };
        let Some((trace_ns, selected, wait_ms)) = next else {
            return Ok(None);
        };
        let time_ns = simulated_ns(trace_ns, self.window_start_ns, self.speedup);
        if time_ns >= self.end_ns {
            return Ok(None);
        }
        Ok(Some(TraceArrival {
            time_ns,
            function: self.functions[selected as usize],
            payload: payload(wait_ms),
        }))
    }
}

impl Stream2019 {
    fn open(spec: &TraceSpec, seed: u64) -> Result<Self, ScenarioError> {
        let name = spec.file.display().to_string();
        let reader = InvocationCountsReader::new(
            open(&spec.file).map_err(|e| trace_error(&e))?,
            name.clone(),
        )
        .map_err(|e| trace_error(&e))?;
        let first_minute = spec.window_start_ns / MINUTE_NS;
        let last_minute = spec.window_end_ns.div_ceil(MINUTE_NS);
        let mut buckets: Vec<Vec<(u32, u32)>> =
            vec![Vec::new(); (last_minute - first_minute) as usize];
        let mut wanted = spec.functions.iter().enumerate().peekable();
        for (row, item) in (0u64..).zip(reader) {
            let Some(&(i, f)) = wanted.peek() else { break };
            let r = item.map_err(|e| trace_error(&e))?;
            if row != f.row {
                continue;
            }
            if r.function != f.hash || r.app != f.app {
                // Line = row + 2 (the header is line 1); HashFunction is column 3.
                return Err(ScenarioError {
                    file: name,
                    line: (row + 2) as usize,
                    column: 3,
                    message: format!(
                        "field `HashFunction`: this row is no longer function {}: the trace file changed after the \
                         scenario was loaded",
                        f.hash
                    ),
                });
            }
            for (m, &c) in r
                .counts
                .iter()
                .enumerate()
                .skip(first_minute as usize)
                .take(buckets.len())
            {
                if c > 0 {
                    buckets[m - first_minute as usize].push((i as u32, c));
                }
            }
            wanted.next();
        }
        Ok(Stream2019 {
            spread: spec.spread,
            buckets,
            first_minute,
            next_bucket: 0,
            minute: Vec::new(),
            pos: 0,
            durations_ms: spec.functions.iter().map(|f| f.durations_ms).collect(),
            default_duration_ms: spec.default_duration_ms,
            spread_rng: trace_rng(seed, 0),
            duration_rng: trace_rng(seed, 1),
        })
    }

    fn next(&mut self) -> Option<(u64, u32, f64)> {
        while self.pos == self.minute.len() {
            let bucket = std::mem::take(self.buckets.get_mut(self.next_bucket)?);
            let minute = self.first_minute + self.next_bucket as u64;
            self.next_bucket += 1;
            self.minute.clear();
            self.pos = 0;
            for (f, count) in bucket {
                self.minute.extend(
                    spread(minute, count, self.spread, &mut self.spread_rng).map(|t| (t, f)),
                );
            }
            self.minute.sort_unstable();
        }
        let (t, f) = self.minute[self.pos];
        self.pos += 1;
        let wait_ms = match self.durations_ms[f as usize] {
            Some(p) => draw_duration_ms(&p, self.duration_rng.random::<f64>()),
            None => self.default_duration_ms,
        };
        Some((t, f, wait_ms))
    }
}

impl Stream2021 {
    fn open(spec: &TraceSpec) -> Result<Self, ScenarioError> {
        let file = spec.file.display().to_string();
        let reader = InvocationTraceReader::new(
            open(&spec.file).map_err(|e| trace_error(&e))?,
            file.clone(),
        )
        .map_err(|e| trace_error(&e))?;
        let selected = spec
            .functions
            .iter()
            .enumerate()
            .map(|(i, f)| ((f.app.clone(), f.hash.clone()), i as u32))
            .collect();
        Ok(Stream2021 {
            reader,
            file,
            selected,
            window: (spec.window_start_ns, spec.window_end_ns),
            newest: (0, 0),
            heap: BinaryHeap::new(),
            seq: 0,
            done: false,
        })
    }

    fn next(&mut self) -> Result<Option<(u64, u32, f64)>, ScenarioError> {
        loop {
            if let Some(&Reverse((start, _, f, d))) = self.heap.peek()
                && (self.done || start.saturating_add(REORDER_NS) < self.newest.0)
            {
                self.heap.pop();
                let wait_ms = d.min(crate::traces::MAX_DURATION_NS) as f64 / 1e6;
                return Ok(Some((start, f, wait_ms)));
            }
            if self.done {
                return Ok(None);
            }
            let Some(item) = self.reader.next() else {
                self.done = true;
                continue;
            };
            let inv = item.map_err(|e| trace_error(&e))?;
            let start = replay_start(inv.end_ns, inv.duration_ns);
            check_order(
                &self.reader,
                &self.file,
                start,
                inv.end_ns,
                &mut self.newest,
            )
            .map_err(|e| trace_error(&e))?;
            // No row still to come can start inside the window.
            if self.newest.0 >= self.window.1.saturating_add(REORDER_NS) {
                self.done = true;
            }
            if start < self.window.0 || start >= self.window.1 {
                continue;
            }
            if let Some(&f) = self.selected.get(&(inv.app, inv.func)) {
                self.heap
                    .push(Reverse((start, self.seq, f, inv.duration_ns)));
                self.seq += 1;
            }
        }
    }
}
