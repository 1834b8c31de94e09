//! A component's WASI 0.2 sleeps (`wasi:clocks/monotonic-clock` subscriptions, e.g. Python's `time.sleep`) in the
//! simulation's time, like a module's `poll_oneoff` (`super::wasi`) and `lambda.wait_us`.
//!
//! A subscription is a pollable of lambda-sim's own. When the guest waits on it: in virtual time it is ready at
//! once and records the wait; in real time it sleeps, but never past the call's deadline. The wait is accounted
//! (duration, timeout, virtual clock) by the store's call hook as the host call returns, through the same
//! `wait_end` as every other simulated wait.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};

use super::abi::{HostState, remaining_ns, wait_end};
use super::wasi::GuestClock;

/// The interface lambda-sim's sleeps replace (the version wasmtime-wasi links; newer 0.2 imports resolve to it).
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// A wait the guest made and its store has not accounted yet: (the wait asked for, the time really slept).
#[derive(Clone, Default)]
pub(crate) struct PendingWait(Arc<Mutex<Option<(u64, u64)>>>);

impl PendingWait {
    fn record(&self, wait: u64, slept: u64) {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (w, s) = pending.unwrap_or((0, 0));
        *pending = Some((w.max(wait), s.max(slept)));
    }

    /// Accounts a recorded wait on the store (called as a host call returns): an error if it ran past the deadline.
    pub(crate) fn apply(&self, store: &mut StoreContextMut<'_, HostState>) -> wasmtime::Result<()> {
        let taken = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        match taken {
            Some((wait, slept)) => wait_end(store, wait, slept).map(|_| ()),
            None => Ok(()),
        }
    }
}

/// A clock subscription.
enum Sleep {
    /// Virtual time: ready once the virtual clock reaches `until_ns`; waiting records the difference.
    Virtual {
        until_ns: u64,
        now: Arc<std::sync::atomic::AtomicU64>,
        pending: PendingWait,
    },
    /// Real time: sleeps until `until` (the requested end, or the call's deadline if that comes first).
    Real {
        wait_ns: u64,
        until: tokio::time::Instant,
        started: Option<Instant>,
        pending: PendingWait,
    },
}

#[async_trait::async_trait]
impl Pollable for Sleep {
    async fn ready(&mut self) {
        match self {
            Sleep::Virtual {
                until_ns,
                now,
                pending,
            } => {
                let now = now.load(std::sync::atomic::Ordering::Relaxed);
                if *until_ns > now {
                    pending.record(*until_ns - now, 0);
                }
            }
            Sleep::Real {
                wait_ns,
                until,
                started,
                pending,
            } => {
                let started = *started.get_or_insert_with(Instant::now);
                tokio::time::sleep_until(*until).await;
                pending.record(*wait_ns, started.elapsed().as_nanos() as u64);
            }
        }
    }
}

/// Subscribes to a wait of `wait_ns` from now.
fn sleep(
    store: &mut StoreContextMut<'_, HostState>,
    wait_ns: u64,
) -> wasmtime::Result<Resource<DynPollable>> {
    let data = store.data();
    let pending = data.pending_wait.clone();
    let sleep = match &data.clock {
        GuestClock::Virtual(now) => Sleep::Virtual {
            until_ns: now
                .load(std::sync::atomic::Ordering::Relaxed)
                .saturating_add(wait_ns),
            now: now.clone(),
            pending,
        },
        GuestClock::Real { .. } => {
            let cut = wait_ns.min(remaining_ns(store));
            Sleep::Real {
                wait_ns,
                until: tokio::time::Instant::now() + std::time::Duration::from_nanos(cut),
                started: None,
                pending,
            }
        }
    };
    let table = &mut store.data_mut().wasi_table();
    let sleep = table.push(sleep)?;
    subscribe(table, sleep)
}

/// The monotonic clock as the guest reads it (`super::instance` gives WASI the same one).
fn now_ns(store: &StoreContextMut<'_, HostState>) -> u64 {
    match &store.data().clock {
        GuestClock::Virtual(now) => now.load(std::sync::atomic::Ordering::Relaxed),
        GuestClock::Real { origin } => origin.elapsed().as_nanos() as u64,
    }
}

/// Replaces wasmtime-wasi's clock subscriptions (which sleep the host in real time whatever the sandbox's clock)
/// with lambda-sim's.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: StoreContextMut<'_, HostState>, (wait,): (u64,)| {
            Ok((sleep(&mut store, wait)?,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |mut store: StoreContextMut<'_, HostState>, (when,): (u64,)| {
            let wait = when.saturating_sub(now_ns(&store));
            Ok((sleep(&mut store, wait)?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
