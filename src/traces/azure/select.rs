//! Picking which trace functions to replay: by trigger, the top N by invocations, or a seeded sample.
//!
//! A day of the 2019 trace has tens of thousands of functions; a replay usually wants a few. Every helper here takes
//! a streaming reader and keeps memory bounded by what it returns (N or k keys), never by the trace's size. Pick in
//! a first pass, then reopen the file and replay only the chosen keys.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::RngExt;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::{AzureTraceError, FunctionCounts, Trigger};

/// A function's identity across the 2019 files (function hashes are only unique within an app).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FunctionKey {
    pub owner: String,
    pub app: String,
    pub function: String,
}

impl FunctionKey {
    pub fn of(row: &FunctionCounts) -> FunctionKey {
        FunctionKey {
            owner: row.owner.clone(),
            app: row.app.clone(),
            function: row.function.clone(),
        }
    }
}

/// Keeps only rows whose trigger is one of `triggers` (errors pass through, so a malformed row is still reported).
pub fn with_triggers<I>(
    rows: I,
    triggers: &[Trigger],
) -> impl Iterator<Item = Result<FunctionCounts, AzureTraceError>>
where
    I: Iterator<Item = Result<FunctionCounts, AzureTraceError>>,
{
    let triggers = triggers.to_vec();
    rows.filter(move |r| {
        r.as_ref()
            .map_or(true, |row| triggers.contains(&row.trigger))
    })
}

/// The `n` functions with the most invocations over the day, busiest first (ties: smaller key first, so the result
/// does not depend on file order). Memory: a heap of at most `n` keys. Stops at the first malformed row.
pub fn top_n<I>(rows: I, n: usize) -> Result<Vec<(FunctionKey, u64)>, AzureTraceError>
where
    I: Iterator<Item = Result<FunctionCounts, AzureTraceError>>,
{
    if n == 0 {
        return Ok(Vec::new());
    }
    // A min-heap on (total, Reverse(key)): its top is the entry that loses first (fewest invocations; among equal
    // totals the largest key), so it is the one evicted when a better row arrives.
    let mut heap: BinaryHeap<Reverse<(u64, Reverse<FunctionKey>)>> =
        BinaryHeap::with_capacity(n + 1);
    for row in rows {
        let row = row?;
        let total = row.total();
        if heap.len() == n {
            let Some(Reverse((min_total, Reverse(min_key)))) = heap.peek() else {
                continue;
            };
            let beats = total > *min_total || (total == *min_total && row_key_lt(&row, min_key));
            if !beats {
                continue;
            }
            heap.pop();
        }
        heap.push(Reverse((total, Reverse(FunctionKey::of(&row)))));
    }
    let mut out: Vec<(FunctionKey, u64)> = heap
        .into_iter()
        .map(|Reverse((t, Reverse(k)))| (k, t))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

/// `row`'s key < `key`, without cloning the row's strings.
fn row_key_lt(row: &FunctionCounts, key: &FunctionKey) -> bool {
    (row.owner.as_str(), row.app.as_str(), row.function.as_str())
        < (key.owner.as_str(), key.app.as_str(), key.function.as_str())
}

/// A uniform random sample of `k` items (reservoir sampling, Algorithm R), in order of appearance. Deterministic for
/// a given `rng` state and input order; memory: `k` items.
pub fn reservoir_sample<T>(
    items: impl IntoIterator<Item = T>,
    k: usize,
    rng: &mut StdRng,
) -> Vec<T> {
    if k == 0 {
        return Vec::new();
    }
    // Keep each item's position so the sample can be returned in input order.
    let mut reservoir: Vec<(u64, T)> = Vec::with_capacity(k);
    for (seen, item) in (0u64..).zip(items) {
        if reservoir.len() < k {
            reservoir.push((seen, item));
        } else {
            let j = rng.random_range(0..=seen);
            if let Some(slot) = usize::try_from(j).ok().and_then(|j| reservoir.get_mut(j)) {
                *slot = (seen, item);
            }
        }
    }
    reservoir.sort_by_key(|(pos, _)| *pos);
    reservoir.into_iter().map(|(_, item)| item).collect()
}

/// A seeded sample of `k` functions' keys (see [`reservoir_sample`]). Stops at the first malformed row.
pub fn sample_functions<I>(
    rows: I,
    k: usize,
    seed: u64,
) -> Result<Vec<FunctionKey>, AzureTraceError>
where
    I: Iterator<Item = Result<FunctionCounts, AzureTraceError>>,
{
    let mut rng = StdRng::seed_from_u64(seed);
    let mut first_error = None;
    let keys = rows.map_while(|r| match r {
        Ok(row) => Some(FunctionKey::of(&row)),
        Err(e) => {
            first_error = Some(e);
            None
        }
    });
    let sample = reservoir_sample(keys, k, &mut rng);
    match first_error {
        Some(e) => Err(e),
        None => Ok(sample),
    }
}
