//! The host side of handler ABI version 3 (`wit/handler.wit`): a handler as a WebAssembly component. Its imports
//! are the `context` and `services` interfaces of the `lambda-sim:handler` package, plus WASI 0.2; its exports,
//! `init` and `handle`, are called by `super::component` for `super::instance`, like a core module's.
//!
//! The imports share their accounting with ABI v1/v2 (`super::abi`): a wait or a service call is the same simulated
//! wait, counted the same way toward duration and the timeout, whichever kind of sandbox makes it.

use std::time::Duration;

use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentType, Lift, Linker, Lower};

use super::abi::{
    HostState, remaining_ns, service_end, service_request, service_wait, wait_end, wait_start,
};

/// The WIT package (and version) of the handler world.
pub(crate) const PACKAGE: &str = "lambda-sim:handler";
/// Its version: the interfaces are imported as `lambda-sim:handler/context@3.0.0`.
pub(crate) const VERSION: &str = "3.0.0";

/// `types.function-error`: what `init` or `handle` returns when the function fails.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(record)]
pub(crate) struct FunctionError {
    #[component(name = "error-type")]
    pub error_type: String,
    #[component(name = "error-message")]
    pub error_message: String,
    #[component(name = "stack-trace")]
    pub stack_trace: Vec<String>,
}

/// `types.service-error`: why a service call failed.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub(crate) enum ServiceError {
    #[component(name = "failed")]
    Failed(String),
    #[component(name = "refused")]
    Refused(String),
    #[component(name = "unknown-service")]
    UnknownService(String),
}

impl From<&super::ServiceReply> for Result<(), ServiceError> {
    fn from(reply: &super::ServiceReply) -> Self {
        use super::ServiceReply::*;
        match reply {
            Answered { error: None, .. } => Ok(()),
            Answered {
                error: Some(message),
                ..
            } => Err(ServiceError::Failed(message.clone())),
            Refused { message, .. } => Err(ServiceError::Refused(message.clone())),
            Unknown { message } => Err(ServiceError::UnknownService(message.clone())),
        }
    }
}

fn interface(name: &str) -> String {
    format!("{PACKAGE}/{name}@{VERSION}")
}

/// Adds WASI 0.2 and the handler world's imports to a component linker; `async_waits` for one used with
/// `call_async` (real time, or a handler that calls services), whose waits suspend the guest instead of blocking.
pub(crate) fn add_to_linker(
    linker: &mut Linker<HostState>,
    async_waits: bool,
) -> wasmtime::Result<()> {
    if async_waits {
        wasmtime_wasi::p2::add_to_linker_async(linker)?;
    } else {
        wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    }
    // Sleeps in the simulation's time, not the host's.
    super::wasi_p2::add_to_linker(linker)?;
    // The world's types interface has no functions; a component that uses its types imports it all the same.
    linker.instance(&interface("types"))?;

    let mut context = linker.instance(&interface("context"))?;
    context.func_wrap(
        "request-id",
        |store: StoreContextMut<'_, HostState>, (): ()| {
            let id = store.data().call.request_id;
            Ok((id.map(|id| id.to_string()).unwrap_or_default(),))
        },
    )?;
    context.func_wrap(
        "function-name",
        |store: StoreContextMut<'_, HostState>, (): ()| Ok((store.data().function.name.clone(),)),
    )?;
    context.func_wrap(
        "function-version",
        |_: StoreContextMut<'_, HostState>, (): ()| Ok(("$LATEST".to_string(),)),
    )?;
    context.func_wrap(
        "handler",
        |store: StoreContextMut<'_, HostState>, (): ()| {
            Ok((store.data().function.handler.clone().unwrap_or_default(),))
        },
    )?;
    context.func_wrap(
        "memory-limit-mb",
        |store: StoreContextMut<'_, HostState>, (): ()| {
            Ok((u32::try_from(store.data().function.memory_mb).unwrap_or(u32::MAX),))
        },
    )?;
    context.func_wrap(
        "remaining-time-ms",
        |store: StoreContextMut<'_, HostState>, (): ()| Ok((remaining_ns(&store) / 1_000_000,)),
    )?;
    if async_waits {
        context.func_wrap_async(
            "wait-us",
            |mut store: StoreContextMut<'_, HostState>, (micros,): (u64,)| {
                Box::new(async move {
                    let micros = i64::try_from(micros).unwrap_or(i64::MAX);
                    let (wait, sleep) = wait_start(&mut store, micros, "context.wait-us")?;
                    if sleep > 0 {
                        tokio::time::sleep(Duration::from_nanos(sleep)).await;
                    }
                    wait_end(&mut store, wait, sleep)?;
                    Ok(())
                })
            },
        )?;
    } else {
        context.func_wrap(
            "wait-us",
            |mut store: StoreContextMut<'_, HostState>, (micros,): (u64,)| {
                let micros = i64::try_from(micros).unwrap_or(i64::MAX);
                let (wait, sleep) = wait_start(&mut store, micros, "context.wait-us")?;
                if sleep > 0 {
                    std::thread::sleep(Duration::from_nanos(sleep));
                }
                wait_end(&mut store, wait, sleep)?;
                Ok(())
            },
        )?;
    }

    let mut services = linker.instance(&interface("services"))?;
    if async_waits {
        services.func_wrap_async(
            "call",
            |mut store: StoreContextMut<'_, HostState>, (service,): (String,)| {
                Box::new(async move {
                    let reply = match service_request(&store, service) {
                        Ok((channel, request)) => {
                            service_wait(&mut store, channel, request).await?
                        }
                        Err(reply) => {
                            service_end(&mut store, &reply, None)?;
                            reply
                        }
                    };
                    Ok((Result::<(), ServiceError>::from(&reply),))
                })
            },
        )?;
    } else {
        // A sandbox whose calls never wait has no services: every call answers at once.
        services.func_wrap(
            "call",
            |mut store: StoreContextMut<'_, HostState>, (service,): (String,)| {
                match service_request(&store, service) {
                    Err(reply) => {
                        service_end(&mut store, &reply, None)?;
                        Ok((Result::<(), ServiceError>::from(&reply),))
                    }
                    Ok((_, request)) => Err(super::abi::misuse(
                        &mut store,
                        format!(
                            "services.call: service `{}` needs a sandbox created for async calls",
                            request.service
                        ),
                    )),
                }
            },
        )?;
    }
    Ok(())
}
