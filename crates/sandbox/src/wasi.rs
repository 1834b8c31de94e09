//! lambda-sim's own versions of the WASI preview 1 functions that touch time and the log, linked over
//! wasmtime-wasi's:
//!
//! - `poll_oneoff`: a clock subscription is a sleep (Rust's `std::thread::sleep`, C's `nanosleep`, an event loop's
//!   timer) and becomes a simulated wait like `lambda.wait_us` — virtual in virtual time (it advances the
//!   invocation's time, counts toward its timeout and never sleeps the host), a real sleep cut at the deadline in
//!   real time. Subscriptions on stdin, stdout and stderr are ready at once.
//! - `fd_write` to stdout or stderr appends to the environment's log directly (no file descriptors beyond the three
//!   standard ones exist in a sandbox); its bytes count toward the host call's cost (`HostCallCosts`).
//!
//! Errors are WASI error numbers, as a guest expects them; nothing here traps but a wait past the deadline (a
//! timeout).

use std::time::Duration;

use wasmtime::{Caller, Linker};

use super::abi::{HostState, memory_bytes, sleep_for, wait_end};
use super::instance::VIRTUAL_EPOCH_UNIX_S;

/// WASI error numbers (`wasi_snapshot_preview1` `errno`).
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;

/// Sizes of `subscription` and `event` in guest memory.
const SUBSCRIPTION_BYTES: usize = 48;
const EVENT_BYTES: usize = 32;
/// `eventtype`s.
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
/// `subclockflags`: the timeout is an absolute time of the clock.
const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1;
/// `eventrwflags`: the peer hung up (stdin has nothing more).
const EVENTRWFLAGS_HANGUP: u16 = 1;
/// Most subscriptions one call may pass (a guest's bug beyond this is refused, not allocated for).
const MAX_SUBSCRIPTIONS: usize = 4096;

/// One subscription as read from the guest.
#[derive(Debug, Clone, Copy)]
enum Subscription {
    /// A timeout: relative, or absolute on clock `id`.
    Clock {
        id: u32,
        timeout: u64,
        abstime: bool,
    },
    /// Readiness of a standard stream.
    Fd { fd: u32, write: bool },
}

/// One event to write back.
struct Event {
    userdata: u64,
    error: u16,
    kind: u8,
    nbytes: u64,
    flags: u16,
}

/// Adds lambda-sim's `poll_oneoff` and `fd_write` over wasmtime-wasi's; `async_waits` for a linker used with
/// `call_async` (waits sleep on tokio in real time).
pub(crate) fn add_to_linker(
    linker: &mut Linker<HostState>,
    async_waits: bool,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "fd_write",
        |mut caller: Caller<'_, HostState>,
         fd: i32,
         iovs: i32,
         iovs_len: i32,
         nwritten: i32|
         -> i32 { fd_write(&mut caller, fd, iovs, iovs_len, nwritten) },
    )?;
    if async_waits {
        linker.func_wrap_async(
            "wasi_snapshot_preview1",
            "poll_oneoff",
            |mut caller: Caller<'_, HostState>, (input, out, n, nevents): (i32, i32, i32, i32)| {
                Box::new(async move {
                    let (plan, sleep) = match poll_start(&mut caller, input, out, n, nevents) {
                        Ok(started) => started,
                        Err(errno) => return Ok(errno),
                    };
                    if sleep > 0 {
                        tokio::time::sleep(Duration::from_nanos(sleep)).await;
                    }
                    poll_end(&mut caller, plan, sleep)
                })
            },
        )?;
    } else {
        linker.func_wrap(
            "wasi_snapshot_preview1",
            "poll_oneoff",
            |mut caller: Caller<'_, HostState>,
             input: i32,
             out: i32,
             n: i32,
             nevents: i32|
             -> wasmtime::Result<i32> {
                let (plan, sleep) = match poll_start(&mut caller, input, out, n, nevents) {
                    Ok(started) => started,
                    Err(errno) => return Ok(errno),
                };
                if sleep > 0 {
                    // A sandbox whose calls cannot suspend lives in virtual time: it never sleeps.
                    std::thread::sleep(Duration::from_nanos(sleep));
                }
                poll_end(&mut caller, plan, sleep)
            },
        )?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

/// `[ptr, ptr + len)` inside memory of `size` bytes, or `None`.
fn range(ptr: i32, len: usize, size: usize) -> Option<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len)?;
    (end <= size).then_some(start..end)
}

fn read_u32(mem: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([mem[at], mem[at + 1], mem[at + 2], mem[at + 3]])
}

fn read_u64(mem: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&mem[at..at + 8]);
    u64::from_le_bytes(b)
}

fn fd_write(
    caller: &mut Caller<'_, HostState>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nwritten: i32,
) -> i32 {
    let (mem, state) = memory_bytes(caller);
    let size = mem.len();
    let Some(list) = range(iovs, (iovs_len as u32 as usize).saturating_mul(8), size) else {
        return ERRNO_FAULT;
    };
    let Some(out) = range(nwritten, 4, size) else {
        return ERRNO_FAULT;
    };
    if fd != 1 && fd != 2 {
        return ERRNO_BADF;
    }
    let mut total: usize = 0;
    for at in list.step_by(8) {
        let (ptr, len) = (read_u32(mem, at), read_u32(mem, at + 4) as usize);
        let Some(buf) = range(ptr as i32, len, size) else {
            return ERRNO_FAULT;
        };
        state.log.write(&mem[buf]);
        total += len;
    }
    state.call.host_bytes += total as u64;
    mem[out].copy_from_slice(&(total as u32).to_le_bytes());
    ERRNO_SUCCESS
}

/// What a `poll_oneoff` call waits for and answers.
struct PollPlan {
    /// Each subscription's userdata, and for a clock its timeout from now (`None`: no such clock).
    subscriptions: Vec<(u64, Subscription, Option<u64>)>,
    /// A standard stream is among them: it is ready now, and no clock fires.
    stream: bool,
    /// The wait: the earliest clock timeout (0 when a stream is ready).
    wait: u64,
    out: usize,
    nevents: usize,
}

/// Reads the subscriptions and decides the wait; returns it with how long to really sleep, or a WASI error.
fn poll_start(
    caller: &mut Caller<'_, HostState>,
    input: i32,
    out: i32,
    n: i32,
    nevents: i32,
) -> Result<(PollPlan, u64), i32> {
    let n = n as u32 as usize;
    if n == 0 || n > MAX_SUBSCRIPTIONS {
        return Err(ERRNO_INVAL);
    }
    let now = caller.data().clock.now();
    let (mem, _) = memory_bytes(caller);
    let size = mem.len();
    let (Some(subs), Some(events), Some(count)) = (
        range(input, n * SUBSCRIPTION_BYTES, size),
        range(out, n * EVENT_BYTES, size),
        range(nevents, 4, size),
    ) else {
        return Err(ERRNO_FAULT);
    };
    let mut subscriptions = Vec::with_capacity(n);
    for at in subs.step_by(SUBSCRIPTION_BYTES) {
        let userdata = read_u64(mem, at);
        let fd = read_u32(mem, at + 16);
        let sub = match mem[at + 8] {
            EVENTTYPE_CLOCK => Subscription::Clock {
                id: fd,
                timeout: read_u64(mem, at + 24),
                abstime: u16::from_le_bytes([mem[at + 40], mem[at + 41]])
                    & SUBSCRIPTION_CLOCK_ABSTIME
                    != 0,
            },
            EVENTTYPE_FD_READ => Subscription::Fd { fd, write: false },
            EVENTTYPE_FD_WRITE => Subscription::Fd { fd, write: true },
            _ => return Err(ERRNO_INVAL),
        };
        let timeout = match sub {
            Subscription::Clock {
                id,
                timeout,
                abstime,
            } => now.read(id).map(|clock| {
                if abstime {
                    timeout.saturating_sub(clock)
                } else {
                    timeout
                }
            }),
            Subscription::Fd { .. } => None,
        };
        subscriptions.push((userdata, sub, timeout));
    }
    let stream = subscriptions
        .iter()
        .any(|(_, s, _)| matches!(s, Subscription::Fd { .. }));
    let invalid_clock = subscriptions
        .iter()
        .any(|(_, s, t)| matches!(s, Subscription::Clock { .. }) && t.is_none());
    // A ready stream (or a clock that does not exist, answered with an error) answers at once; otherwise the
    // earliest timeout is the wait.
    let wait = if stream || invalid_clock {
        0
    } else {
        subscriptions
            .iter()
            .filter_map(|(_, _, t)| *t)
            .min()
            .unwrap_or(0)
    };
    let plan = PollPlan {
        subscriptions,
        stream,
        wait,
        out: events.start,
        nevents: count.start,
    };
    let sleep = sleep_for(caller, wait);
    Ok((plan, sleep))
}

/// Waits (a timeout if past the deadline), then writes the events of the subscriptions that are ready.
fn poll_end(
    caller: &mut Caller<'_, HostState>,
    plan: PollPlan,
    slept: u64,
) -> wasmtime::Result<i32> {
    if plan.wait > 0 {
        wait_end(caller, plan.wait, slept)?;
    }
    let event = |userdata: u64, error: i32, kind: u8, nbytes: u64, flags: u16| Event {
        userdata,
        error: error as u16,
        kind,
        nbytes,
        flags,
    };
    let mut events = Vec::with_capacity(plan.subscriptions.len());
    for &(userdata, sub, timeout) in &plan.subscriptions {
        match (sub, timeout) {
            // stdin holds nothing: readable at its end; stdout and stderr always take more.
            (
                Subscription::Fd {
                    fd: 0,
                    write: false,
                },
                _,
            ) => events.push(event(
                userdata,
                ERRNO_SUCCESS,
                EVENTTYPE_FD_READ,
                0,
                EVENTRWFLAGS_HANGUP,
            )),
            (
                Subscription::Fd {
                    fd: 1 | 2,
                    write: true,
                },
                _,
            ) => events.push(event(
                userdata,
                ERRNO_SUCCESS,
                EVENTTYPE_FD_WRITE,
                u64::from(u32::MAX),
                0,
            )),
            (Subscription::Fd { write, .. }, _) => {
                let kind = if write {
                    EVENTTYPE_FD_WRITE
                } else {
                    EVENTTYPE_FD_READ
                };
                events.push(event(userdata, ERRNO_BADF, kind, 0, 0));
            }
            (Subscription::Clock { .. }, None) => {
                events.push(event(userdata, ERRNO_INVAL, EVENTTYPE_CLOCK, 0, 0))
            }
            (Subscription::Clock { .. }, Some(t)) if !plan.stream && t <= plan.wait => {
                events.push(event(userdata, ERRNO_SUCCESS, EVENTTYPE_CLOCK, 0, 0))
            }
            (Subscription::Clock { .. }, Some(_)) => {}
        }
    }
    let (mem, _) = memory_bytes(caller);
    for (i, e) in events.iter().enumerate() {
        let at = plan.out + i * EVENT_BYTES;
        mem[at..at + EVENT_BYTES].fill(0);
        mem[at..at + 8].copy_from_slice(&e.userdata.to_le_bytes());
        mem[at + 8..at + 10].copy_from_slice(&e.error.to_le_bytes());
        mem[at + 10] = e.kind;
        mem[at + 16..at + 24].copy_from_slice(&e.nbytes.to_le_bytes());
        mem[at + 24..at + 26].copy_from_slice(&e.flags.to_le_bytes());
    }
    mem[plan.nevents..plan.nevents + 4].copy_from_slice(&(events.len() as u32).to_le_bytes());
    Ok(ERRNO_SUCCESS)
}

/// The guest's clocks at one moment, as its `clock_time_get` shows them: realtime (0), monotonic (1) and the two
/// CPU-time clocks (2, 3), in nanoseconds.
pub(crate) struct GuestNow {
    pub realtime: u64,
    pub monotonic: u64,
}

impl GuestNow {
    fn read(&self, id: u32) -> Option<u64> {
        match id {
            0 => Some(self.realtime),
            1..=3 => Some(self.monotonic),
            _ => None,
        }
    }
}

/// Where a sandbox's clocks come from (the same ones its WASI context shows the guest).
#[derive(Clone)]
pub(crate) enum GuestClock {
    /// Virtual time: the virtual epoch plus the invocation's virtual time.
    Virtual(std::sync::Arc<std::sync::atomic::AtomicU64>),
    /// Real time: the host's wall clock, and a monotonic clock counting from the sandbox's creation.
    Real { origin: std::time::Instant },
}

impl GuestClock {
    pub(crate) fn now(&self) -> GuestNow {
        match self {
            GuestClock::Virtual(ns) => {
                let ns = ns.load(std::sync::atomic::Ordering::Relaxed);
                GuestNow {
                    realtime: VIRTUAL_EPOCH_UNIX_S
                        .saturating_mul(1_000_000_000)
                        .saturating_add(ns),
                    monotonic: ns,
                }
            }
            GuestClock::Real { origin } => GuestNow {
                realtime: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64),
                monotonic: origin.elapsed().as_nanos() as u64,
            },
        }
    }
}
