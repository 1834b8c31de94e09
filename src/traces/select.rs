//! The first pass over a trace, run while the scenario loads: checks every row, applies `[trace]`'s filters,
//! counts each function's invocations in the window, keeps the top N (a heap of N) and/or a seeded sample (a
//! reservoir), then looks up the chosen functions' duration and memory percentiles (2019). Memory: the selection
//! (2019) or one counter per distinct function in the window (2021), never the trace.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::Path;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{Filters, MAX_DURATION_NS, REORDER_NS};
use crate::traces::azure::spread::MINUTE_NS;
use crate::traces::azure::{
    AzureTraceError, DurationsReader, InvocationCountsReader, InvocationTraceReader, MemoryReader,
    Trigger, open, reservoir_sample,
};

/// One function the first pass chose.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    /// 0-based row in the 2019 invocations file; for 2021, the row of the function's first invocation.
    pub row: u64,
    pub owner: Option<String>,
    pub app: String,
    pub function: String,
    pub trigger: Option<Trigger>,
    /// Invocations in the window.
    pub invocations: u64,
    pub durations_ms: Option<[f64; 7]>,
    pub app_memory_mb: Option<f64>,
}

/// What the first pass found.
#[derive(Debug, Clone)]
pub struct Pass {
    /// In file order.
    pub selected: Vec<Selected>,
    /// The end of the trace (exclusive, ns): the day for 2019, just after the last start for 2021.
    pub window_end_ns: u64,
    /// 2021: rows in the window longer than 900 s.
    pub clamped_rows: u64,
}

/// The seeded RNG of the sample (its own stream: independent of arrival spreading).
fn sample_rng(seed: u64) -> StdRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[24..].copy_from_slice(b"lsim-smp");
    StdRng::from_seed(key)
}

/// Keeps the top N candidates by invocations (ties: the earlier row) and/or a sample, in bounded memory.
struct Chooser {
    top: Option<usize>,
    sample: Option<usize>,
    rng: StdRng,
    /// Min-heap of (invocations, Reverse(row)): its top is the candidate that loses first.
    heap: BinaryHeap<Reverse<(u64, Reverse<u64>)>>,
    kept: BTreeMap<u64, Selected>,
    seen: u64,
    reservoir: Vec<Selected>,
}

impl Chooser {
    fn new(f: &Filters) -> Self {
        Chooser {
            top: f.top,
            sample: f.sample,
            rng: sample_rng(f.seed),
            heap: BinaryHeap::new(),
            kept: BTreeMap::new(),
            seen: 0,
            reservoir: Vec::new(),
        }
    }

    fn offer(&mut self, c: Selected) {
        if let Some(n) = self.top {
            let entry = (c.invocations, Reverse(c.row));
            if self.heap.len() == n {
                match self.heap.peek() {
                    Some(&Reverse(min)) if entry > min => {
                        self.heap.pop();
                        self.kept.remove(&(min.1).0);
                    }
                    _ => return,
                }
            }
            self.heap.push(Reverse(entry));
            self.kept.insert(c.row, c);
        } else if let Some(k) = self.sample {
            // Algorithm R (see `reservoir_sample`), streaming.
            if self.reservoir.len() < k {
                self.reservoir.push(c);
            } else {
                let j = self.rng.random_range(0..=self.seen);
                if let Some(slot) = usize::try_from(j)
                    .ok()
                    .and_then(|j| self.reservoir.get_mut(j))
                {
                    *slot = c;
                }
            }
            self.seen += 1;
        } else {
            self.kept.insert(c.row, c);
        }
    }

    /// The choice, in file order.
    fn finish(mut self) -> Vec<Selected> {
        let mut out: Vec<Selected> = if self.top.is_none() && self.sample.is_some() {
            std::mem::take(&mut self.reservoir)
        } else {
            std::mem::take(&mut self.kept).into_values().collect()
        };
        if let (Some(_), Some(k)) = (self.top, self.sample) {
            out = reservoir_sample(out, k, &mut self.rng);
        }
        out.sort_by_key(|s| s.row);
        out
    }
}

/// The first pass over a 2019 day: `file` is `invocations_per_function_md`; `durations` and `memory` are looked up
/// for the selected functions only.
pub fn select_2019(
    file: &Path,
    durations: Option<&Path>,
    memory: Option<&Path>,
    f: &Filters,
) -> Result<Pass, AzureTraceError> {
    let reader = InvocationCountsReader::new(open(file)?, file.display().to_string())?;
    let m0 = (f.window_start_ns / MINUTE_NS) as usize;
    let m1 = ((f.window_end_ns / MINUTE_NS) as usize).min(crate::traces::azure::MINUTES_PER_DAY);
    let mut chooser = Chooser::new(f);
    for (row, item) in (0u64..).zip(reader) {
        let r = item?;
        if !(f.triggers.is_empty() || f.triggers.contains(&r.trigger))
            || !f.keeps_app(&r.app)
            || !f.keeps_owner(&r.owner)
        {
            continue;
        }
        let invocations: u64 = r
            .counts
            .get(m0..m1)
            .unwrap_or(&[])
            .iter()
            .map(|&c| u64::from(c))
            .sum();
        if invocations == 0 {
            continue;
        }
        chooser.offer(Selected {
            row,
            owner: Some(r.owner),
            app: r.app,
            function: r.function,
            trigger: Some(r.trigger),
            invocations,
            durations_ms: None,
            app_memory_mb: None,
        });
    }
    let mut selected = chooser.finish();
    if let Some(path) = durations {
        let mut by_key: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
        for (i, s) in selected.iter().enumerate() {
            let owner = s.owner.clone().unwrap_or_default();
            by_key
                .entry((owner, s.app.clone(), s.function.clone()))
                .or_default()
                .push(i);
        }
        for item in DurationsReader::new(open(path)?, path.display().to_string())? {
            let d = item?;
            if let Some(ix) = by_key.remove(&(d.owner, d.app, d.function)) {
                for i in ix {
                    selected[i].durations_ms = Some(d.percentiles_ms);
                }
            }
        }
    }
    if let Some(path) = memory {
        let mut by_app: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        for (i, s) in selected.iter().enumerate() {
            let owner = s.owner.clone().unwrap_or_default();
            by_app.entry((owner, s.app.clone())).or_default().push(i);
        }
        for item in MemoryReader::new(open(path)?, path.display().to_string())? {
            let m = item?;
            if let Some(ix) = by_app.remove(&(m.owner, m.app)) {
                for i in ix {
                    // AverageAllocatedMb_pct99: the size a user would give the function, rarely exceeded.
                    selected[i].app_memory_mb = Some(m.percentiles_mb[6]);
                }
            }
        }
    }
    Ok(Pass {
        selected,
        window_end_ns: crate::traces::azure::MINUTES_PER_DAY as u64 * MINUTE_NS,
        clamped_rows: 0,
    })
}

/// A 2021 row's replayed start: `end − min(duration, 900 s)` (a longer row keeps its end time).
pub fn replay_start(end_ns: u64, duration_ns: u64) -> u64 {
    end_ns.saturating_sub(duration_ns.min(MAX_DURATION_NS))
}

/// Checks that a 2021 row is ordered well enough to replay with a bounded reorder window; `newest` is the latest
/// replayed start read so far (and its line), updated here.
pub fn check_order<R: std::io::BufRead>(
    reader: &InvocationTraceReader<R>,
    file: &str,
    start: u64,
    end_ns: u64,
    newest: &mut (u64, u64),
) -> Result<(), AzureTraceError> {
    if start.saturating_add(REORDER_NS) < newest.0 {
        return Err(AzureTraceError::Value {
            file: file.to_string(),
            line: reader.line(),
            column: 3,
            field: "end_timestamp".to_string(),
            value: format!("{}", end_ns as f64 / 1e9),
            allowed: format!(
                "rows ordered by end time (as published) or by start time: this row starts at {:.3} s, more than {} s \
                 before the row at line {} ({:.3} s)",
                start as f64 / 1e9,
                REORDER_NS / 1_000_000_000,
                newest.1,
                newest.0 as f64 / 1e9
            ),
        });
    }
    if start > newest.0 {
        *newest = (start, reader.line());
    }
    Ok(())
}

/// The first pass over the 2021 trace: checks every row and its order, counts each function's invocations (by
/// replayed start) in the window, and chooses.
pub fn select_2021(file: &Path, f: &Filters) -> Result<Pass, AzureTraceError> {
    let name = file.display().to_string();
    let mut reader = InvocationTraceReader::new(open(file)?, name.clone())?;
    let mut counts: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let mut newest = (0u64, 0u64);
    let mut last_start = None::<u64>;
    let mut clamped_rows = 0;
    let mut row = 0u64;
    while let Some(item) = reader.next() {
        let inv = item?;
        let start = replay_start(inv.end_ns, inv.duration_ns);
        check_order(&reader, &name, start, inv.end_ns, &mut newest)?;
        last_start = Some(last_start.map_or(start, |l: u64| l.max(start)));
        if start >= f.window_start_ns && start < f.window_end_ns && f.keeps_app(&inv.app) {
            if inv.duration_ns > MAX_DURATION_NS {
                clamped_rows += 1;
            }
            let e = counts.entry((inv.app, inv.func)).or_insert((row, 0));
            e.1 += 1;
        }
        row += 1;
    }
    let mut chooser = Chooser::new(f);
    for ((app, func), (first, n)) in counts {
        chooser.offer(Selected {
            row: first,
            owner: None,
            app,
            function: func,
            trigger: None,
            invocations: n,
            durations_ms: None,
            app_memory_mb: None,
        });
    }
    Ok(Pass {
        selected: chooser.finish(),
        window_end_ns: last_start.map_or(0, |s| s + 1),
        clamped_rows,
    })
}
