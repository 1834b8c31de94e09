//! The run's memory budget. Every live execution environment holds a [`Reservation`] of host memory — its peak
//! linear memory plus [`ENVIRONMENT_OVERHEAD_BYTES`] for its store, instance and tables — and an environment that
//! would take the run past its budget is not created: the request fails with [`MemoryBudgetExceeded`], which stops
//! a run (virtual time, `run --mode realtime`) or answers a 500 (`serve`) — never the machine's OOM killer.
//!
//! A new environment of a function is reckoned at the largest reservation any of its environments has held (its
//! linear memory only grows), so a function whose handlers grow memory is counted at what they grow to. The sizes
//! come from the guests, not from the host, so a virtual-time run stops at the same point every time.
//!
//! Default budget: half the machine's memory (the smaller of `MemTotal` and the cgroup's `memory.max`), settable with
//! `[simulation] memory_budget_mb` or `--memory-budget-mb`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::model::FunctionId;

/// What an environment costs the host besides its linear memory: the wasmtime store and instance, tables, and the
/// host's own bookkeeping (measured: an idle `hello` environment adds about this much resident memory).
pub const ENVIRONMENT_OVERHEAD_BYTES: u64 = 256 << 10;

/// The budget when none is set: this share of the machine's memory.
pub const DEFAULT_SHARE: f64 = 0.5;

/// A new environment would take the run past its memory budget.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "memory budget exceeded: another execution environment of function {function:?} (about {need_mb} MB) would take \
     the run past its budget of {budget_mb} MB — {function:?} has {live} live environments, all functions {live_total} \
     using about {in_use_mb} MB. Lower the concurrency (reserved or provisioned concurrency, the account's \
     concurrency_limit) or raise the budget ([simulation] memory_budget_mb, --memory-budget-mb)"
)]
pub struct MemoryBudgetExceeded {
    pub function: String,
    pub live: u32,
    pub live_total: u32,
    pub need_mb: u64,
    pub in_use_mb: u64,
    pub budget_mb: u64,
}

/// The budget and what the live environments hold of it. Shared by every environment of a run.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    in_use: AtomicU64,
    /// Per function: live environments, and the largest reservation one has held.
    live: Vec<AtomicU32>,
    largest: Vec<AtomicU64>,
    names: Vec<String>,
}

impl MemoryBudget {
    /// A budget of `limit` bytes for functions called `names`.
    pub fn new(limit: u64, names: Vec<String>) -> Self {
        MemoryBudget {
            limit,
            in_use: AtomicU64::new(0),
            live: names.iter().map(|_| AtomicU32::new(0)).collect(),
            largest: names
                .iter()
                .map(|_| AtomicU64::new(ENVIRONMENT_OVERHEAD_BYTES))
                .collect(),
            names,
        }
    }

    /// The budget in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Reserves memory for a new environment of `f`, or says why not.
    pub fn reserve(self: &Arc<Self>, f: FunctionId) -> Result<Reservation, MemoryBudgetExceeded> {
        let need = self.largest[f].load(Ordering::Relaxed);
        let taken = self
            .in_use
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                let total = used.saturating_add(need);
                (total <= self.limit).then_some(total)
            });
        if let Err(used) = taken {
            let mb = |b: u64| b.div_ceil(1 << 20);
            return Err(MemoryBudgetExceeded {
                function: self.names[f].clone(),
                live: self.live[f].load(Ordering::Relaxed),
                live_total: self.live.iter().map(|l| l.load(Ordering::Relaxed)).sum(),
                need_mb: mb(need),
                in_use_mb: mb(used),
                budget_mb: mb(self.limit),
            });
        }
        self.live[f].fetch_add(1, Ordering::Relaxed);
        Ok(Reservation {
            budget: self.clone(),
            f,
            bytes: need,
        })
    }
}

/// One live environment's share of the budget, given back when the environment is dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<MemoryBudget>,
    f: FunctionId,
    bytes: u64,
}

impl Reservation {
    /// The environment's linear memory has reached `peak_bytes`: its reservation grows to match (it never shrinks:
    /// linear memory does not), and so does what the next environment of its function is reckoned at.
    pub fn grew_to(&mut self, peak_bytes: u64) {
        let bytes = peak_bytes.saturating_add(ENVIRONMENT_OVERHEAD_BYTES);
        if bytes > self.bytes {
            self.budget
                .in_use
                .fetch_add(bytes - self.bytes, Ordering::Relaxed);
            self.bytes = bytes;
            self.budget.largest[self.f].fetch_max(bytes, Ordering::Relaxed);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.in_use.fetch_sub(self.bytes, Ordering::Relaxed);
        self.budget.live[self.f].fetch_sub(1, Ordering::Relaxed);
    }
}

/// The default budget: [`DEFAULT_SHARE`] of the machine's memory (the smaller of `MemTotal` and the cgroup limit), or
/// 4 GiB where neither can be read.
pub fn default_budget_bytes() -> u64 {
    let total = machine_memory_bytes().unwrap_or(8 << 30);
    (total as f64 * DEFAULT_SHARE) as u64
}

fn machine_memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let total_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let total = total_kb * 1024;
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    Some(cgroup.map_or(total, |c| c.min(total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_add_up_grow_and_are_given_back() {
        let budget = Arc::new(MemoryBudget::new(10 << 20, vec!["a".into(), "b".into()]));
        let mut first = budget.reserve(0).unwrap();
        assert_eq!(
            budget.in_use.load(Ordering::Relaxed),
            ENVIRONMENT_OVERHEAD_BYTES
        );
        first.grew_to(7 << 19);
        // The next environment of `a` is reckoned at what the first grew to (3.5 MB + overhead).
        let second = budget.reserve(0).unwrap();
        assert_eq!(second.bytes, (7 << 19) + ENVIRONMENT_OVERHEAD_BYTES);
        let third = budget.reserve(0).unwrap_err();
        assert_eq!(
            (
                third.function.as_str(),
                third.live,
                third.live_total,
                third.budget_mb
            ),
            ("a", 2, 2, 10)
        );
        assert!(third.to_string().contains("budget of 10 MB"), "{third}");
        // `b` still fits: it is reckoned at its own size.
        let b = budget.reserve(1).unwrap();
        drop((first, second, b));
        assert_eq!(budget.in_use.load(Ordering::Relaxed), 0);
        assert!(budget.reserve(0).is_ok());
    }

    #[test]
    fn the_default_is_a_share_of_the_machine() {
        let b = default_budget_bytes();
        assert!(b >= 64 << 20, "{b}");
        assert!(b <= machine_memory_bytes().unwrap_or(u64::MAX), "{b}");
    }
}
