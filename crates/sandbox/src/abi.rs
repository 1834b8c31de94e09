//! The host side of the handler ABI (docs/abi.md): a sandbox's store data and the `lambda` imports. Version 2 adds
//! `service_call` and `service_message` to version 1's imports.
//!
//! Every import validates the guest's pointers and lengths against its linear memory; misuse becomes a trap that
//! names the import (a crash of that invocation), never a host panic.

use std::time::{Duration, Instant};

use wasmtime::{AsContext, AsContextMut, Caller, Linker, Memory, ResourceLimiter, ValType};
use wasmtime_wasi::p1::WasiP1Ctx;

use super::RequestId;
use lambda_sim_model::cpu::CpuModel;
use lambda_sim_model::limits::RESPONSE_MAX_BYTES;

/// Longest `errorType` and `errorMessage` kept from the guest.
const ERROR_TYPE_MAX: usize = 1 << 10;
const ERROR_MESSAGE_MAX: usize = 256 << 10;

/// Every `lambda` import: name, parameter types, result types.
pub(crate) const LAMBDA_IMPORTS: &[(&str, &[ValType], &[ValType])] = &[
    ("event_len", &[], &[ValType::I32]),
    ("event_read", &[ValType::I32, ValType::I32], &[ValType::I32]),
    (
        "response_write",
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "error",
        &[ValType::I32, ValType::I32, ValType::I32, ValType::I32],
        &[],
    ),
    ("request_id", &[ValType::I32, ValType::I32], &[ValType::I32]),
    ("remaining_time_ms", &[], &[ValType::I64]),
    ("wait_us", &[ValType::I64], &[ValType::I32]),
    (
        "service_call",
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "service_message",
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
];

/// The imports ABI version 2 added (a version-1 module may not import them).
pub(crate) const ABI_V2_IMPORTS: &[&str] = &["service_call", "service_message"];

/// What a sandbox's store holds.
pub struct HostState {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) memory: Option<Memory>,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) call: CallState,
    pub(crate) services: Option<super::ServiceChannel>,
    /// The guest's stdout and stderr.
    pub(crate) log: super::log::LogPipe,
    /// The clocks the guest sees (`poll_oneoff` reads absolute timeouts against them).
    pub(crate) clock: super::wasi::GuestClock,
    /// What the context imports of ABI v3 tell the guest.
    pub(crate) function: FunctionFacts,
    /// A component's WASI sleep not yet accounted (`super::wasi_p2`).
    pub(crate) pending_wait: super::wasi_p2::PendingWait,
}

impl HostState {
    /// The WASI resource table (a component's streams, pollables …).
    pub(crate) fn wasi_table(&mut self) -> &mut wasmtime::component::ResourceTable {
        wasmtime_wasi::WasiView::ctx(&mut self.wasi).table
    }
}

/// The function an environment runs, as its context shows it.
pub(crate) struct FunctionFacts {
    pub name: String,
    pub handler: Option<String>,
    pub memory_mb: u64,
}

/// A component's WASI 0.2 imports use the same context as a module's preview 1 imports.
impl wasmtime_wasi::WasiView for HostState {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiView::ctx(&mut self.wasi)
    }
}

/// Caps linear memory at the function's memory size and remembers the peak ("Max Memory Used").
pub(crate) struct MemoryLimiter {
    pub cap_bytes: usize,
    pub peak_bytes: usize,
    /// Set when a growth past the cap was refused during the current call.
    pub refused: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap_bytes {
            self.refused = true;
            return Ok(false);
        }
        self.peak_bytes = self.peak_bytes.max(desired);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        // A growth we allowed still failed (the pool's own limit): the guest is out of memory all the same.
        self.refused = true;
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// How the current call's clock runs.
#[derive(Clone, Copy)]
pub(crate) enum CallClock {
    /// Virtual time: the deadline is a fuel budget. `fuel_granted` is all fuel handed to the guest so far this call.
    Virtual { cpu: CpuModel, fuel_granted: u64 },
    /// Real time: the deadline is enforced by epochs; waits really sleep.
    Real { started: Instant, deadline: Instant },
}

/// Per-call state the imports read and write.
pub(crate) struct CallState {
    pub event: bytes::Bytes,
    pub response: Vec<u8>,
    pub response_too_large: Option<usize>,
    /// The function error the guest reported (ABI v1/v2 `lambda.error`, or v3's `function-error`).
    pub error: Option<super::ErrorBody>,
    pub request_id: Option<RequestId>,
    pub budget_ns: u64,
    /// Virtual time at which the call started (ns since scenario start).
    pub start_ns: u64,
    pub wait_ns: u64,
    /// The message of the last failed service call (`lambda.service_message`).
    pub service_message: Option<String>,
    pub clock: CallClock,
    /// Virtual time (ns since scenario start) shown to WASI clocks.
    pub virtual_now: std::sync::Arc<std::sync::atomic::AtomicU64>,
    pub timed_out: bool,
    pub misuse: Option<String>,
    /// Bytes the current host call moved between guest and host (charged when it returns).
    pub host_bytes: u64,
}

impl CallState {
    pub(crate) fn new(virtual_now: std::sync::Arc<std::sync::atomic::AtomicU64>) -> Self {
        CallState {
            event: bytes::Bytes::new(),
            response: Vec::new(),
            response_too_large: None,
            error: None,
            request_id: None,
            budget_ns: 0,
            start_ns: 0,
            wait_ns: 0,
            service_message: None,
            clock: CallClock::Real {
                started: Instant::now(),
                deadline: Instant::now(),
            },
            virtual_now,
            timed_out: false,
            misuse: None,
            host_bytes: 0,
        }
    }
}

impl CallState {
    /// Keeps a response the guest returned whole (ABI v3), or only its size when it is over Lambda's limit.
    pub(crate) fn set_response(&mut self, response: Vec<u8>) {
        if response.len() > RESPONSE_MAX_BYTES {
            self.response_too_large = Some(response.len());
            self.response.clear();
        } else {
            self.response = response;
        }
    }
}

/// Virtual CPU nanoseconds used so far in this call.
pub(crate) fn cpu_ns_so_far(call: &CallState, fuel_left: u64) -> u64 {
    match call.clock {
        CallClock::Virtual { cpu, fuel_granted } => {
            cpu.fuel_to_ns(fuel_granted.saturating_sub(fuel_left))
        }
        CallClock::Real { started, .. } => {
            (started.elapsed().as_nanos() as u64).saturating_sub(call.wait_ns)
        }
    }
}

/// Time left before the current call's deadline. Generic over the store handle: core-module imports get a
/// `Caller`, component imports (`super::abi_v3`) a `StoreContextMut`; both share these helpers.
pub(crate) fn remaining_ns(store: &impl AsContext<Data = HostState>) -> u64 {
    let store = store.as_context();
    let call = &store.data().call;
    match call.clock {
        CallClock::Virtual { .. } => {
            let fuel_left = store.get_fuel().unwrap_or(0);
            call.budget_ns
                .saturating_sub(call.wait_ns)
                .saturating_sub(cpu_ns_so_far(call, fuel_left))
        }
        CallClock::Real { deadline, .. } => deadline
            .saturating_duration_since(Instant::now())
            .as_nanos() as u64,
    }
}

pub(crate) fn misuse(
    store: &mut impl AsContextMut<Data = HostState>,
    message: String,
) -> wasmtime::Error {
    store.as_context_mut().data_mut().call.misuse = Some(message.clone());
    wasmtime::Error::msg(message)
}

/// Checks that `[ptr, ptr+len)` lies inside linear memory and returns it as a host range.
fn guest_range(
    caller: &mut Caller<'_, HostState>,
    import: &str,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<std::ops::Range<usize>> {
    let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
    if len == 0 {
        return Ok(0..0);
    }
    let size = match caller.data().memory {
        Some(memory) => memory.data_size(&*caller),
        None => 0,
    };
    match ptr.checked_add(len) {
        Some(end) if end <= size => Ok(ptr..end),
        _ => Err(misuse(
            caller,
            format!(
                "lambda.{import}: range at pointer {ptr:#x} with length {len} is outside linear memory ({size} bytes)"
            ),
        )),
    }
}

pub(crate) fn memory_bytes<'a>(
    caller: &'a mut Caller<'_, HostState>,
) -> (&'a mut [u8], &'a mut HostState) {
    match caller.data().memory {
        Some(memory) => memory.data_and_store_mut(caller),
        None => (&mut [], caller.data_mut()),
    }
}

fn lossy(bytes: &[u8], max: usize) -> String {
    let mut s = String::from_utf8_lossy(&bytes[..bytes.len().min(max)]).into_owned();
    if bytes.len() > max {
        s.push('…');
    }
    s
}

/// Adds the `lambda` imports to a linker; `async_waits` for a linker used with `call_async` (live mode).
pub(crate) fn add_to_linker(
    linker: &mut Linker<HostState>,
    async_waits: bool,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        "lambda",
        "event_len",
        |caller: Caller<'_, HostState>| -> i32 { caller.data().call.event.len() as i32 },
    )?;

    linker.func_wrap(
        "lambda",
        "event_read",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            // The whole buffer the guest names must be its memory (the ABI's rule for every range), even when the
            // event fills only part of it.
            let range = guest_range(&mut caller, "event_read", ptr, len)?;
            let n = range.len().min(caller.data().call.event.len());
            let (mem, state) = memory_bytes(&mut caller);
            mem[range.start..range.start + n].copy_from_slice(&state.call.event[..n]);
            state.call.host_bytes += n as u64;
            Ok(n as i32)
        },
    )?;

    linker.func_wrap(
        "lambda",
        "response_write",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let range = guest_range(&mut caller, "response_write", ptr, len)?;
            let (mem, state) = memory_bytes(&mut caller);
            let call = &mut state.call;
            call.host_bytes += range.len() as u64;
            let total = call.response.len() + range.len() + call.response_too_large.unwrap_or(0);
            if total > RESPONSE_MAX_BYTES || call.response_too_large.is_some() {
                // Stop buffering: remember only how big the response would have been.
                let buffered = std::mem::take(&mut call.response).len();
                call.response_too_large =
                    Some(call.response_too_large.unwrap_or(0) + buffered + range.len());
                return Ok(-1);
            }
            call.response.extend_from_slice(&mem[range]);
            Ok(0)
        },
    )?;

    linker.func_wrap(
        "lambda",
        "error",
        |mut caller: Caller<'_, HostState>,
         tp: i32,
         tl: i32,
         mp: i32,
         ml: i32|
         -> wasmtime::Result<()> {
            let t = guest_range(&mut caller, "error", tp, tl)?;
            let m = guest_range(&mut caller, "error", mp, ml)?;
            let (mem, state) = memory_bytes(&mut caller);
            state.call.host_bytes += (t.len() + m.len()) as u64;
            let error_type = lossy(&mem[t], ERROR_TYPE_MAX);
            let message = lossy(&mem[m], ERROR_MESSAGE_MAX);
            state.call.error = Some(super::ErrorBody::new(error_type, message));
            Ok(())
        },
    )?;

    linker.func_wrap(
        "lambda",
        "request_id",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let Some(id) = caller.data().call.request_id else {
                return Ok(0);
            };
            let text = id.to_string();
            let n = (len as u32 as usize).min(text.len());
            let range = guest_range(&mut caller, "request_id", ptr, n as i32)?;
            let (mem, _) = memory_bytes(&mut caller);
            mem[range].copy_from_slice(&text.as_bytes()[..n]);
            Ok(text.len() as i32)
        },
    )?;

    linker.func_wrap(
        "lambda",
        "remaining_time_ms",
        |caller: Caller<'_, HostState>| -> i64 { (remaining_ns(&caller) / 1_000_000) as i64 },
    )?;

    linker.func_wrap(
        "lambda",
        "service_message",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let Some(text) = caller.data().call.service_message.clone() else {
                return Ok(0);
            };
            let n = (len as u32 as usize).min(text.len());
            let range = guest_range(&mut caller, "service_message", ptr, n as i32)?;
            let (mem, _) = memory_bytes(&mut caller);
            mem[range].copy_from_slice(&text.as_bytes()[..n]);
            Ok(text.len() as i32)
        },
    )?;

    if async_waits {
        // Handlers whose calls may wait (real time, or virtual-time handlers that call services): the call is put on
        // the environment's channel and the guest's fiber is suspended until the runner puts the reply.
        linker.func_wrap_async(
            "lambda",
            "service_call",
            |mut caller: Caller<'_, HostState>, (ptr, len): (i32, i32)| {
                Box::new(async move {
                    let reply = match service_start(&mut caller, ptr, len)? {
                        Ok((channel, request)) => {
                            service_wait(&mut caller, channel, request).await?
                        }
                        Err(reply) => {
                            service_end(&mut caller, &reply, None)?;
                            reply
                        }
                    };
                    Ok(reply.status())
                })
            },
        )?;
    } else {
        // Sandboxes whose calls never wait have no services: the call answers at once.
        linker.func_wrap(
            "lambda",
            "service_call",
            |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
                match service_start(&mut caller, ptr, len)? {
                    Err(reply) => {
                        service_end(&mut caller, &reply, None)?;
                        Ok(reply.status())
                    }
                    Ok((_, request)) => Err(misuse(
                        &mut caller,
                        format!(
                            "lambda.service_call: service `{}` needs a sandbox created for async calls",
                            request.service
                        ),
                    )),
                }
            },
        )?;
    }

    if async_waits {
        // Live mode: the wait is a tokio sleep, so the worker thread runs other requests meanwhile.
        linker.func_wrap_async(
            "lambda",
            "wait_us",
            |mut caller: Caller<'_, HostState>, (micros,): (i64,)| {
                Box::new(async move {
                    let (wait, sleep) = wait_start(&mut caller, micros, "lambda.wait_us")?;
                    if sleep > 0 {
                        tokio::time::sleep(Duration::from_nanos(sleep)).await;
                    }
                    wait_end(&mut caller, wait, sleep)
                })
            },
        )?;
    } else {
        linker.func_wrap(
            "lambda",
            "wait_us",
            |mut caller: Caller<'_, HostState>, micros: i64| -> wasmtime::Result<i32> {
                let (wait, sleep) = wait_start(&mut caller, micros, "lambda.wait_us")?;
                if sleep > 0 {
                    std::thread::sleep(Duration::from_nanos(sleep));
                }
                wait_end(&mut caller, wait, sleep)
            },
        )?;
    }
    Ok(())
}

/// Longest service name read from the guest.
const SERVICE_NAME_MAX: usize = 256;

/// Reads a service call's name and builds its request, or the immediate reply when there is no one to ask.
#[allow(clippy::type_complexity)]
fn service_start(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<Result<(super::ServiceChannel, super::ServiceRequest), super::ServiceReply>> {
    let range = guest_range(caller, "service_call", ptr, len)?;
    let (mem, _) = memory_bytes(caller);
    let name = lossy(&mem[range], SERVICE_NAME_MAX);
    Ok(service_request(caller, name))
}

/// A call to the service `name`: the request for the environment's channel, or the reply at once when the run has
/// no services.
pub(crate) fn service_request(
    store: &impl AsContext<Data = HostState>,
    name: String,
) -> Result<(super::ServiceChannel, super::ServiceRequest), super::ServiceReply> {
    let store = store.as_context();
    let Some(channel) = store.data().services.clone() else {
        return Err(super::no_services(&name));
    };
    let call = &store.data().call;
    let remaining_ns = remaining_ns(&store);
    let at_ns = match call.clock {
        CallClock::Virtual { .. } => {
            let fuel_left = store.get_fuel().unwrap_or(0);
            call.start_ns + cpu_ns_so_far(call, fuel_left) + call.wait_ns
        }
        CallClock::Real { .. } => 0,
    };
    let request = super::ServiceRequest {
        service: name,
        at_ns,
        remaining_ns,
    };
    Ok((channel, request))
}

/// Asks the service on the environment's channel and accounts for the call's time (the guest is suspended until the
/// runner puts the reply).
pub(crate) async fn service_wait(
    store: &mut (impl AsContextMut<Data = HostState> + Send),
    channel: super::ServiceChannel,
    request: super::ServiceRequest,
) -> wasmtime::Result<super::ServiceReply> {
    let remaining_ns = request.remaining_ns;
    let started = Instant::now();
    let reply = channel.call(request).await;
    let measured = match store.as_context().data().call.clock {
        CallClock::Virtual { .. } => None,
        // The runner waited until the answer, or until the deadline if the answer came later.
        CallClock::Real { .. } => Some((started.elapsed().as_nanos() as u64, remaining_ns)),
    };
    service_end(store, &reply, measured)?;
    Ok(reply)
}

/// Accounts for a finished service call: its time is a simulated wait — virtual: the reply's; real: the measured
/// `(took, remaining at the call)`, a timeout if the answer came after the deadline.
pub(crate) fn service_end(
    store: &mut impl AsContextMut<Data = HostState>,
    reply: &super::ServiceReply,
    measured: Option<(u64, u64)>,
) -> wasmtime::Result<()> {
    store.as_context_mut().data_mut().call.service_message = reply.message().map(str::to_owned);
    match measured {
        Some((took, remaining)) if reply.elapsed_ns() > remaining => {
            wait_end(store, u64::MAX, took)?
        }
        Some((took, _)) => wait_end(store, took, took)?,
        None => wait_end(store, reply.elapsed_ns(), 0)?,
    };
    Ok(())
}

/// Validates a simulated wait; returns its length and how long to really sleep (real-time mode only).
pub(crate) fn wait_start(
    store: &mut impl AsContextMut<Data = HostState>,
    micros: i64,
    import: &str,
) -> wasmtime::Result<(u64, u64)> {
    if micros < 0 {
        return Err(misuse(
            store,
            format!("{import}: negative wait {micros} µs"),
        ));
    }
    let wait = (micros as u64).saturating_mul(1000);
    Ok((wait, sleep_for(store, wait)))
}

/// How long a wait of `wait` ns really sleeps: in real time, until it ends or the deadline comes, whichever is
/// first; in virtual time, not at all (the wait is virtual).
pub(crate) fn sleep_for(store: &impl AsContext<Data = HostState>, wait: u64) -> u64 {
    match store.as_context().data().call.clock {
        CallClock::Real { .. } => wait.min(remaining_ns(store)),
        CallClock::Virtual { .. } => 0,
    }
}

/// Accounts for a finished wait: a timeout if it ran past the deadline, else less budget left.
pub(crate) fn wait_end(
    store: &mut impl AsContextMut<Data = HostState>,
    wait: u64,
    slept: u64,
) -> wasmtime::Result<i32> {
    let mut store = store.as_context_mut();
    let clock = store.data().call.clock;
    // Real time: the sleep stopped at the deadline if the wait was longer; virtual time: compare with the budget.
    let remaining = match clock {
        CallClock::Real { .. } => slept,
        CallClock::Virtual { .. } => remaining_ns(&store),
    };
    let call = &mut store.data_mut().call;
    if wait > remaining {
        call.wait_ns += remaining;
        call.timed_out = true;
        return Err(wasmtime::Error::msg(
            "task timed out during a simulated wait",
        ));
    }
    call.wait_ns += wait;
    call.virtual_now
        .fetch_add(wait, std::sync::atomic::Ordering::Relaxed);
    if let CallClock::Virtual { cpu, fuel_granted } = clock {
        // Waiting used up budget without using fuel: shrink the fuel left to what the deadline allows.
        let fuel_left = store.get_fuel().unwrap_or(0);
        let used = fuel_granted.saturating_sub(fuel_left);
        let new_left = cpu.ns_to_fuel(remaining - wait);
        store.set_fuel(new_left)?;
        store.data_mut().call.clock = CallClock::Virtual {
            cpu,
            fuel_granted: used + new_left,
        };
    }
    Ok(0)
}
