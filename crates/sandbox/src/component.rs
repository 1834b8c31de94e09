//! Handler components (ABI v3, `wit/handler.wit`): checking a component's imports and exports when it is loaded,
//! and calling its `init` and `handle` exports. Everything else about a sandbox — store, limits, clocks, the
//! lifecycle of a call and how it ended — is the same for both kinds and lives in `super::instance`.

use wasmtime::Store;
use wasmtime::component::{
    Component, ComponentExportIndex, Instance, TypedFunc, types::ComponentItem,
};

use super::abi::HostState;
use super::abi_v3::{FunctionError, PACKAGE};

/// A component is handler ABI version 3.
pub(crate) const ABI_VERSION: u32 = 3;

/// The handler's exports, looked up once per component.
#[derive(Clone)]
pub(crate) struct Exports {
    init: ComponentExportIndex,
    handle: ComponentExportIndex,
}

/// `init: func() -> result<_, function-error>`
type InitFunc = TypedFunc<(), (Result<(), FunctionError>,)>;
/// `handle: func(event: list<u8>) -> result<list<u8>, function-error>`
type HandleFunc = TypedFunc<(Vec<u8>,), (Result<Vec<u8>, FunctionError>,)>;

/// An instantiated handler component's exports.
pub(crate) struct Functions {
    /// Kept for taking a snapshot of the initialized instance.
    pub(crate) instance: Instance,
    init: InitFunc,
    handle: HandleFunc,
}

/// Checks that `component` targets the handler world: imports only WASI and `lambda-sim:handler` interfaces of
/// version 3, exports `init` and `handle`. Returns its exports and whether it imports the services interface.
pub(crate) fn check(component: &Component) -> Result<(Exports, bool), String> {
    let engine = component.engine();
    let ty = component.component_type();
    let mut calls_services = false;
    for (name, _) in ty.imports(engine) {
        if name.starts_with("wasi:") {
            continue;
        }
        let Some(rest) = name.strip_prefix(PACKAGE).and_then(|r| r.strip_prefix('/')) else {
            return Err(format!(
                "imports `{name}`: a handler component may import only WASI 0.2 and the `{PACKAGE}` interfaces \
                 (wit/handler.wit, docs/abi.md)"
            ));
        };
        let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
        if version.split('.').next() != Some("3") {
            return Err(format!(
                "imports `{name}`: this lambda-sim runs handler world version 3 (`{PACKAGE}/{interface}@3.0.0`)"
            ));
        }
        calls_services |= interface == "services";
    }
    let export = |name: &str| -> Result<ComponentExportIndex, String> {
        match component.get_export(None, name) {
            Some((ComponentItem::ComponentFunc(_), index)) => Ok(index),
            Some(_) => Err(format!(
                "exports `{name}` as something other than a function"
            )),
            None => Err(format!(
                "does not export `{name}`, which every handler component must (wit/handler.wit)"
            )),
        }
    };
    let exports = Exports {
        init: export("init")?,
        handle: export("handle")?,
    };
    Ok((exports, calls_services))
}

impl Exports {
    /// Resolves the exports on a new instance, checking their types against the handler world.
    pub(crate) fn resolve(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
    ) -> wasmtime::Result<Functions> {
        Ok(Functions {
            instance: *instance,
            init: instance.get_typed_func(&mut *store, self.init)?,
            handle: instance.get_typed_func(&mut *store, self.handle)?,
        })
    }
}

/// What a call of `init` or `handle` returned, in the terms `super::instance` classifies for both kinds: a status
/// (0 success, 1 function error) with the error and the response left in the call state.
fn status(
    store: &mut Store<HostState>,
    result: wasmtime::Result<Result<Vec<u8>, FunctionError>>,
) -> wasmtime::Result<i32> {
    let call = &mut store.data_mut().call;
    match result? {
        Ok(response) => {
            call.set_response(response);
            Ok(0)
        }
        Err(e) => {
            call.error = Some(super::ErrorBody {
                error_type: e.error_type,
                error_message: e.error_message,
                stack_trace: e.stack_trace,
            });
            Ok(1)
        }
    }
}

impl Functions {
    pub(crate) async fn init(
        &self,
        store: &mut Store<HostState>,
        suspendable: bool,
    ) -> wasmtime::Result<i32> {
        let result = if suspendable {
            self.init.call_async(&mut *store, ()).await
        } else {
            self.init.call(&mut *store, ())
        };
        status(store, result.map(|(r,)| r.map(|()| Vec::new())))
    }

    pub(crate) async fn handle(
        &self,
        store: &mut Store<HostState>,
        suspendable: bool,
    ) -> wasmtime::Result<i32> {
        let event = store.data().call.event.to_vec();
        let result = if suspendable {
            self.handle.call_async(&mut *store, (event,)).await
        } else {
            self.handle.call(&mut *store, (event,))
        };
        status(store, result.map(|(r,)| r))
    }
}

/// The initialized instance of an instrumented component, as wizer reads it: through the functions its
/// instrumentation exported. A call that fails is recorded (and the snapshot refused) rather than trusted.
pub(crate) struct Capture<'a> {
    pub store: &'a mut Store<HostState>,
    pub instance: Instance,
    pub failed: Option<String>,
}

impl Capture<'_> {
    fn call<R: wasmtime::component::Lift + 'static>(
        &mut self,
        instance: &str,
        func: &str,
    ) -> Option<R> {
        let result = (|| -> wasmtime::Result<R> {
            let store = &mut *self.store;
            // Reading the state is lambda-sim's work, not the guest's: it gets all the fuel it needs.
            store.set_fuel(u64::MAX / 4)?;
            let missing = || wasmtime::Error::msg(format!("`{instance}#{func}` is not exported"));
            let outer = self
                .instance
                .get_export_index(&mut *store, None, instance)
                .ok_or_else(missing)?;
            let index = self
                .instance
                .get_export_index(&mut *store, Some(&outer), func)
                .ok_or_else(missing)?;
            let typed = self
                .instance
                .get_typed_func::<(), (R,)>(&mut *store, index)?;
            Ok(typed.call(&mut *store, ())?.0)
        })();
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.failed.get_or_insert_with(|| {
                    format!("reading the initialized state ({instance}#{func}): {e}")
                });
                None
            }
        }
    }
}

impl wasmtime_wizer::ComponentInstanceState for Capture<'_> {
    fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) -> impl std::future::Future<Output = ()> + Send {
        match self.call::<wasmtime::component::WasmList<u8>>(instance, func) {
            Some(list) => contents(list.as_le_slice(&*self.store)),
            None => contents(&[]),
        }
        std::future::ready(())
    }

    fn call_func_ret_s32(
        &mut self,
        instance: &str,
        func: &str,
    ) -> impl std::future::Future<Output = i32> + Send {
        std::future::ready(self.call(instance, func).unwrap_or(0))
    }

    fn call_func_ret_s64(
        &mut self,
        instance: &str,
        func: &str,
    ) -> impl std::future::Future<Output = i64> + Send {
        std::future::ready(self.call(instance, func).unwrap_or(0))
    }

    fn call_func_ret_f32(
        &mut self,
        instance: &str,
        func: &str,
    ) -> impl std::future::Future<Output = u32> + Send {
        std::future::ready(self.call::<f32>(instance, func).map_or(0, f32::to_bits))
    }

    fn call_func_ret_f64(
        &mut self,
        instance: &str,
        func: &str,
    ) -> impl std::future::Future<Output = u64> + Send {
        std::future::ready(self.call::<f64>(instance, func).map_or(0, f64::to_bits))
    }
}
