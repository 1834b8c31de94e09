//! Loading a handler — a core module (ABI v1/v2: version check, import/export validation) or a component of the
//! handler world (ABI v3, checked by `super::component`) — and the code cache of both.
//!
//! Compiling with Cranelift costs tens of milliseconds to seconds; a cold start on Lambda does not recompile the
//! runtime each time, so neither does lambda-sim. Modules are compiled once per content hash and engine settings,
//! kept in memory, and written as precompiled `.cwasm` files to a cache directory so later runs only load them.
//! Snapshots (`super::snapshot`) are cached here too: the pre-initialized module and what its init did, keyed by
//! everything init depends on, and compiled under a key of their own kind so they never share an entry with a
//! plain module.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{self, Component};
use wasmtime::{ExternType, FuncType, InstancePre, Module, ModuleExport, ValType};

use super::abi::{ABI_V2_IMPORTS, HostState, LAMBDA_IMPORTS};
use super::{SandboxEngine, SandboxError};

/// The custom section that carries the ABI version.
pub const ABI_SECTION: &str = "lambda-sim-abi";
/// The custom section in which a component built from source (Python, JavaScript) carries the size of its
/// deployment package — the function's own code — in ASCII decimal bytes.
pub const PACKAGE_SECTION: &str = "lambda-sim-package-bytes";
/// ABI versions this host runs: 1 and 2 are core modules, 3 is a component of the handler world
/// (`wit/handler.wit`).
pub const SUPPORTED_ABI_VERSIONS: &[u32] = &[1, 2, 3];

/// What a compiled module is; part of its cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeKind {
    /// A handler module as deployed.
    Module,
    /// A pre-initialized module made from one (a snapshot).
    Snapshot,
    /// A handler component (ABI v3).
    Component,
    /// A pre-initialized component (a snapshot of one).
    ComponentSnapshot,
}

/// Where a module's compiled code came from, and what it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    /// Compiled now with Cranelift.
    Compiled,
    /// Loaded from a `.cwasm` file in the cache directory.
    DiskCache,
    /// Already loaded in this process.
    MemoryCache,
}

/// Facts about a loaded module.
#[derive(Debug, Clone)]
pub struct CodeInfo {
    /// A display name: the file path or the name given.
    pub name: String,
    /// SHA-256 of the module's binary.
    pub sha256: [u8; 32],
    /// Size of the module's binary.
    pub wasm_bytes: u64,
    /// Size of the deployment package when it is not the binary: a Python or JavaScript component carries its
    /// runtime, which a Lambda environment has, so only the function's own code is downloaded.
    pub package_bytes: Option<u64>,
    pub abi_version: u32,
    /// Whether the module imports `lambda.service_call` (its calls may wait on simulated services).
    pub calls_services: bool,
    pub source: CodeSource,
    /// Time spent compiling or loading the code.
    pub load_time: Duration,
}

/// Pre-resolved export handles: looking an export up by name per call is slow, by handle is not.
#[derive(Clone)]
pub(crate) struct Exports {
    pub memory: ModuleExport,
    pub handle: ModuleExport,
    pub init: Option<ModuleExport>,
    pub initialize: Option<ModuleExport>,
}

/// A validated, compiled handler, ready to instantiate sandboxes from. Cheap to clone.
#[derive(Clone)]
pub struct FunctionCode {
    pub(crate) guest: GuestCode,
    info: Arc<CodeInfo>,
}

/// The two kinds of handler a sandbox hosts, linked for sync calls and for `call_async` (suspendable calls).
#[derive(Clone)]
pub(crate) enum GuestCode {
    /// ABI v1/v2: a core module with `lambda.*` and WASI preview 1 imports.
    Module {
        pre: InstancePre<HostState>,
        pre_async: InstancePre<HostState>,
        exports: Exports,
    },
    /// ABI v3: a component of the handler world with WASI 0.2 imports.
    Component {
        pre: component::InstancePre<HostState>,
        pre_async: component::InstancePre<HostState>,
        exports: super::component::Exports,
    },
}

impl FunctionCode {
    pub fn info(&self) -> &CodeInfo {
        &self.info
    }

    /// Loads a `.wasm` (or `.wat`) file.
    pub fn load_file(
        engine: &SandboxEngine,
        cache: &CodeCache,
        path: &Path,
    ) -> Result<Self, SandboxError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| SandboxError::Io {
            path: name.clone(),
            source,
        })?;
        Self::from_bytes(engine, cache, &name, &bytes)
    }

    /// Validates and compiles (or loads from the cache) a module given as WebAssembly binary or WAT text.
    pub fn from_bytes(
        engine: &SandboxEngine,
        cache: &CodeCache,
        name: &str,
        bytes: &[u8],
    ) -> Result<Self, SandboxError> {
        Self::load(engine, cache, name, bytes, CodeKind::Module)
    }

    /// [`FunctionCode::from_bytes`] for code of the given kind (a component is recognised by its header).
    pub(crate) fn load(
        engine: &SandboxEngine,
        cache: &CodeCache,
        name: &str,
        bytes: &[u8],
        kind: CodeKind,
    ) -> Result<Self, SandboxError> {
        let load_err = |reason: String| SandboxError::Load {
            module: name.to_string(),
            reason,
        };
        let binary = to_binary(bytes).map_err(load_err)?;
        let is_component = wasmparser::Parser::is_component(&binary);
        let abi_version = if is_component {
            super::component::ABI_VERSION
        } else {
            abi_version(&binary).map_err(load_err)?
        };
        let sha256: [u8; 32] = Sha256::digest(&binary).into();
        let started = Instant::now();
        let compile_err = |what: &'static str| {
            move |e: wasmtime::Error| SandboxError::Compile {
                module: name.to_string(),
                what,
                source: e.into(),
            }
        };
        let (guest, calls_services, source) = if is_component {
            let kind = match kind {
                CodeKind::Snapshot | CodeKind::ComponentSnapshot => CodeKind::ComponentSnapshot,
                CodeKind::Module | CodeKind::Component => CodeKind::Component,
            };
            let (component, source) = cache
                .get_or_compile::<Component>(engine, &sha256, &binary, kind)
                .map_err(compile_err("failed to compile"))?;
            let (exports, calls_services) =
                super::component::check(&component).map_err(load_err)?;
            let pre = engine
                .component_linker()
                .instantiate_pre(&component)
                .map_err(compile_err("cannot link the component's imports"))?;
            let pre_async = engine
                .component_linker_async()
                .instantiate_pre(&component)
                .map_err(compile_err("cannot link the component's imports"))?;
            let guest = GuestCode::Component {
                pre,
                pre_async,
                exports,
            };
            (guest, calls_services, source)
        } else {
            let (module, source) = cache
                .get_or_compile::<Module>(engine, &sha256, &binary, kind)
                .map_err(compile_err("failed to compile"))?;
            let calls_services = check_imports(&module, abi_version).map_err(load_err)?;
            let exports = resolve_exports(&module).map_err(load_err)?;
            let pre = engine
                .linker()
                .instantiate_pre(&module)
                .map_err(compile_err("cannot link the module's imports"))?;
            let pre_async = engine
                .linker_async()
                .instantiate_pre(&module)
                .map_err(compile_err("cannot link the module's imports"))?;
            let guest = GuestCode::Module {
                pre,
                pre_async,
                exports,
            };
            (guest, calls_services, source)
        };
        let load_time = started.elapsed();
        Ok(FunctionCode {
            guest,
            info: Arc::new(CodeInfo {
                name: name.to_string(),
                sha256,
                wasm_bytes: binary.len() as u64,
                package_bytes: package_bytes(&binary),
                abi_version,
                calls_services,
                source,
                load_time,
            }),
        })
    }

    /// The wasmtime engine the code was compiled for.
    pub(crate) fn engine(&self) -> &wasmtime::Engine {
        match &self.guest {
            GuestCode::Module { pre, .. } => pre.module().engine(),
            GuestCode::Component { pre, .. } => pre.component().engine(),
        }
    }
}

impl CodeInfo {
    /// What a cold start downloads: the deployment package.
    pub fn download_bytes(&self) -> u64 {
        self.package_bytes.unwrap_or(self.wasm_bytes)
    }

    /// Whether the code carries its language's runtime (a Python or JavaScript component: the interpreter starts
    /// inside the sandbox, so its start-up is measured, not modelled).
    pub fn interpreter_in_sandbox(&self) -> bool {
        self.package_bytes.is_some()
    }
}

/// The size in the [`PACKAGE_SECTION`] custom section, if the binary has a valid one.
fn package_bytes(binary: &[u8]) -> Option<u64> {
    use wasmparser::{Parser, Payload};
    Parser::new(0)
        .parse_all(binary)
        .filter_map(Result::ok)
        .find_map(|payload| match payload {
            Payload::CustomSection(s) if s.name() == PACKAGE_SECTION => {
                std::str::from_utf8(s.data()).ok()?.trim().parse().ok()
            }
            _ => None,
        })
}

/// The module as a WebAssembly binary: `bytes` itself, or `bytes` parsed as WAT text.
pub(crate) fn to_binary(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    if bytes.starts_with(b"\0asm") {
        Ok(std::borrow::Cow::Borrowed(bytes))
    } else {
        wat::parse_bytes(bytes)
            .map_err(|e| format!("not a WebAssembly binary, and not valid WAT text: {e}"))
    }
}

/// Reads the ABI version from the `lambda-sim-abi` custom section.
fn abi_version(binary: &[u8]) -> Result<u32, String> {
    use wasmparser::{Parser, Payload};
    let mut found: Option<u32> = None;
    for payload in Parser::new(0).parse_all(binary) {
        match payload.map_err(|e| format!("not a valid WebAssembly module: {e}"))? {
            Payload::CustomSection(section) if section.name() == ABI_SECTION => {
                if found.is_some() {
                    return Err(format!("has more than one `{ABI_SECTION}` custom section"));
                }
                let text = std::str::from_utf8(section.data()).unwrap_or("").trim();
                let version = text.parse::<u32>().map_err(|_| {
                    format!("custom section `{ABI_SECTION}` holds {text:?}, expected an ABI version number such as \"1\"")
                })?;
                found = Some(version);
            }
            _ => {}
        }
    }
    let version = found.ok_or_else(|| {
        format!("declares no handler ABI version: add a custom section `{ABI_SECTION}` containing \"1\" (see docs/abi.md)")
    })?;
    if !SUPPORTED_ABI_VERSIONS.contains(&version) {
        return Err(format!(
            "uses handler ABI version {version}, which this lambda-sim does not support (supported: {SUPPORTED_ABI_VERSIONS:?})"
        ));
    }
    Ok(version)
}

fn describe(ty: &FuncType) -> String {
    let list = |tys: &mut dyn Iterator<Item = ValType>| {
        tys.map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
    };
    format!(
        "({}) -> ({})",
        list(&mut ty.params()),
        list(&mut ty.results())
    )
}

fn same_signature(ty: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    ty.params().len() == params.len()
        && ty.results().len() == results.len()
        && ty.params().zip(params).all(|(a, b)| ValType::eq(&a, b))
        && ty.results().zip(results).all(|(a, b)| ValType::eq(&a, b))
}

/// Checks every import against the ABI the module declares; returns whether it imports `lambda.service_call`.
fn check_imports(module: &Module, abi_version: u32) -> Result<bool, String> {
    let mut calls_services = false;
    for import in module.imports() {
        match import.module() {
            "wasi_snapshot_preview1" => {}
            "lambda" => {
                let provided = |(n, _, _): &&(&str, &[ValType], &[ValType])| {
                    abi_version >= 2 || !ABI_V2_IMPORTS.contains(n)
                };
                let Some((_, params, results)) = LAMBDA_IMPORTS
                    .iter()
                    .filter(provided)
                    .find(|(n, _, _)| *n == import.name())
                else {
                    if ABI_V2_IMPORTS.contains(&import.name()) {
                        return Err(format!(
                            "imports `lambda.{}`, which needs handler ABI version 2, but declares version {abi_version} (see docs/abi.md)",
                            import.name()
                        ));
                    }
                    let known: Vec<_> = LAMBDA_IMPORTS
                        .iter()
                        .filter(provided)
                        .map(|(n, _, _)| *n)
                        .collect();
                    return Err(format!(
                        "imports unknown function `lambda.{}` (ABI v{abi_version} provides: {})",
                        import.name(),
                        known.join(", ")
                    ));
                };
                calls_services |= import.name() == "service_call";
                let ExternType::Func(ty) = import.ty() else {
                    return Err(format!(
                        "imports `lambda.{}` as a non-function",
                        import.name()
                    ));
                };
                if !same_signature(&ty, params, results) {
                    let expected = FuncType::new(
                        module.engine(),
                        params.iter().cloned(),
                        results.iter().cloned(),
                    );
                    return Err(format!(
                        "imports `lambda.{}` with type {}, expected {}",
                        import.name(),
                        describe(&ty),
                        describe(&expected)
                    ));
                }
            }
            other => {
                return Err(format!(
                    "imports `{other}.{}`: only `lambda` and `wasi_snapshot_preview1` imports are provided",
                    import.name()
                ));
            }
        }
    }
    Ok(calls_services)
}

fn resolve_exports(module: &Module) -> Result<Exports, String> {
    let func = |name: &str,
                params: &[ValType],
                results: &[ValType],
                required: bool|
     -> Result<Option<ModuleExport>, String> {
        let Some(export) = module.get_export(name) else {
            return if required {
                Err(format!(
                    "does not export `{name}`, which every handler must (docs/abi.md)"
                ))
            } else {
                Ok(None)
            };
        };
        let ExternType::Func(ty) = export else {
            return Err(format!("exports `{name}` as a non-function"));
        };
        if !same_signature(&ty, params, results) {
            let expected = FuncType::new(
                module.engine(),
                params.iter().cloned(),
                results.iter().cloned(),
            );
            return Err(format!(
                "exports `{name}` with type {}, expected {}",
                describe(&ty),
                describe(&expected)
            ));
        }
        Ok(module.get_export_index(name))
    };
    let memory = match module.get_export("memory") {
        Some(ExternType::Memory(_)) => module.get_export_index("memory"),
        Some(_) => return Err("exports `memory` as something other than a memory".into()),
        None => None,
    }
    .ok_or("does not export `memory`, which every handler must (docs/abi.md)")?;
    let handle = func("handle", &[], &[ValType::I32], true)?.ok_or("missing `handle`")?;
    let init = func("init", &[], &[ValType::I32], false)?;
    let initialize = func("_initialize", &[], &[], false)?;
    Ok(Exports {
        memory,
        handle,
        init,
        initialize,
    })
}

/// Compiled modules, in memory and (optionally) on disk, keyed by content hash and engine settings.
pub struct CodeCache {
    dir: Option<PathBuf>,
    loaded: Mutex<HashMap<[u8; 32], Module>>,
    loaded_components: Mutex<HashMap<[u8; 32], Component>>,
    /// Snapshot artifacts by snapshot key: (pre-initialized module binary, metadata).
    snapshots: Mutex<HashMap<[u8; 32], SnapshotArtifact>>,
}

/// A snapshot as the cache keeps it: the pre-initialized module's binary and its metadata (JSON).
pub(crate) type SnapshotArtifact = (Arc<[u8]>, Arc<[u8]>);

impl CodeCache {
    /// A cache that writes `.cwasm` files under `dir`.
    pub fn on_disk(dir: impl Into<PathBuf>) -> Self {
        CodeCache {
            dir: Some(dir.into()),
            loaded: Mutex::default(),
            loaded_components: Mutex::default(),
            snapshots: Mutex::default(),
        }
    }

    /// A cache that lives only as long as the process.
    pub fn in_memory() -> Self {
        CodeCache {
            dir: None,
            loaded: Mutex::default(),
            loaded_components: Mutex::default(),
            snapshots: Mutex::default(),
        }
    }

    /// The default on-disk location: `$LAMBDA_SIM_CACHE_DIR`, else `$XDG_CACHE_HOME/lambda-sim`, else
    /// `~/.cache/lambda-sim`, else in memory only.
    pub fn default_location() -> Self {
        match Self::default_dir() {
            Some(dir) => Self::on_disk(dir),
            None => Self::in_memory(),
        }
    }

    /// The default cache directory (see [`CodeCache::default_location`]); also where built Python and JavaScript
    /// components and their build tools are kept.
    pub fn default_dir() -> Option<PathBuf> {
        std::env::var_os("LAMBDA_SIM_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("lambda-sim"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/lambda-sim"))
            })
    }

    fn get_or_compile<C: Compiled>(
        &self,
        engine: &SandboxEngine,
        sha256: &[u8; 32],
        binary: &[u8],
        kind: CodeKind,
    ) -> wasmtime::Result<(C, CodeSource)> {
        let key = cache_key(engine, sha256, kind);
        let mut loaded = C::loaded(self).lock().unwrap_or_else(|e| e.into_inner());
        if let Some(code) = loaded.get(&key) {
            if wasmtime::Engine::same(code.engine(), engine.wasmtime()) {
                return Ok((code.clone(), CodeSource::MemoryCache));
            }
            // Loaded for another engine with the same settings (the key covers them): compiled code cannot cross
            // engines, but it can be copied into another without compiling again.
            if let Ok(serialized) = code.serialize() {
                // SAFETY: the bytes come from `serialize` in this process, for an engine whose compatibility hash
                // is part of the key; wasmtime checks the header and settings again.
                if let Ok(code) = unsafe { C::deserialize(engine.wasmtime(), &serialized) } {
                    loaded.insert(key, code.clone());
                    return Ok((code, CodeSource::MemoryCache));
                }
            }
        }
        let file = self
            .dir
            .as_ref()
            .map(|d| d.join(format!("{}.cwasm", hex::encode(&key[..16]))));
        if let Some(file) = &file
            && file.is_file()
        {
            // SAFETY: the file was written by `serialize` of an engine with the same compatibility hash (part of
            // its name) into lambda-sim's own cache directory. wasmtime checks the header and engine settings again
            // and refuses a mismatch; a corrupt file falls through to a recompile.
            if let Ok(code) = unsafe { C::deserialize_file(engine.wasmtime(), file) } {
                loaded.insert(key, code.clone());
                return Ok((code, CodeSource::DiskCache));
            }
        }
        let code = C::from_binary(engine.wasmtime(), binary)?;
        if let (Some(file), Ok(serialized)) = (&file, code.serialize()) {
            // Best effort: an unwritable cache only costs a recompile next time.
            let _ = write_atomically(file, &serialized);
        }
        loaded.insert(key, code.clone());
        Ok((code, CodeSource::Compiled))
    }

    fn snapshot_files(&self, key: &[u8; 32]) -> Option<(PathBuf, PathBuf)> {
        let dir = self.dir.as_ref()?;
        let stem = format!("snapshot-{}", hex::encode(&key[..16]));
        Some((
            dir.join(format!("{stem}.wasm")),
            dir.join(format!("{stem}.json")),
        ))
    }

    /// A snapshot taken earlier (in this process, or written to the cache directory by an earlier run).
    pub(crate) fn snapshot_artifact(&self, key: &[u8; 32]) -> Option<SnapshotArtifact> {
        let mut snapshots = self.snapshots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = snapshots.get(key) {
            return Some(found.clone());
        }
        let (wasm, meta) = self.snapshot_files(key)?;
        // The metadata is written last: if it is there, the module is complete.
        let meta: Arc<[u8]> = std::fs::read(meta).ok()?.into();
        let wasm: Arc<[u8]> = std::fs::read(wasm).ok()?.into();
        snapshots.insert(*key, (wasm.clone(), meta.clone()));
        Some((wasm, meta))
    }

    /// Keeps a snapshot for later deployments (best effort on disk: a failed write only costs a new snapshot).
    pub(crate) fn store_snapshot_artifact(&self, key: &[u8; 32], wasm: &[u8], meta: &[u8]) {
        if let Some((wasm_file, meta_file)) = self.snapshot_files(key)
            && write_atomically(&wasm_file, wasm).is_ok()
        {
            let _ = write_atomically(&meta_file, meta);
        }
        self.snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(*key, (wasm.into(), meta.into()));
    }
}

fn cache_key(engine: &SandboxEngine, sha256: &[u8; 32], kind: CodeKind) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(sha256);
    h.update(engine.compatibility_key().to_le_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    // Plain modules keep the key they always had; the other kinds are tagged, so no two kinds ever collide.
    match kind {
        CodeKind::Module => {}
        CodeKind::Snapshot => h.update(b"\0snapshot"),
        CodeKind::Component => h.update(b"\0component"),
        CodeKind::ComponentSnapshot => h.update(b"\0component snapshot"),
    }
    h.finalize().into()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Compiled code the cache keeps: a core module or a component.
trait Compiled: Clone + Sized {
    fn loaded(cache: &CodeCache) -> &Mutex<HashMap<[u8; 32], Self>>;
    fn engine(&self) -> &wasmtime::Engine;
    fn serialize(&self) -> wasmtime::Result<Vec<u8>>;
    fn from_binary(engine: &wasmtime::Engine, binary: &[u8]) -> wasmtime::Result<Self>;
    /// # Safety
    /// `bytes` must come from `serialize` (see `wasmtime::Module::deserialize`).
    unsafe fn deserialize(engine: &wasmtime::Engine, bytes: &[u8]) -> wasmtime::Result<Self>;
    /// # Safety
    /// The file must hold what `serialize` wrote (see `wasmtime::Module::deserialize_file`).
    unsafe fn deserialize_file(engine: &wasmtime::Engine, path: &Path) -> wasmtime::Result<Self>;
}

/// The two implementations are the same calls on two types.
macro_rules! compiled {
    ($ty:ty, $field:ident) => {
        impl Compiled for $ty {
            fn loaded(cache: &CodeCache) -> &Mutex<HashMap<[u8; 32], Self>> {
                &cache.$field
            }
            fn engine(&self) -> &wasmtime::Engine {
                <$ty>::engine(self)
            }
            fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
                <$ty>::serialize(self)
            }
            fn from_binary(engine: &wasmtime::Engine, binary: &[u8]) -> wasmtime::Result<Self> {
                <$ty>::from_binary(engine, binary)
            }
            unsafe fn deserialize(
                engine: &wasmtime::Engine,
                bytes: &[u8],
            ) -> wasmtime::Result<Self> {
                // SAFETY: the caller's contract.
                unsafe { <$ty>::deserialize(engine, bytes) }
            }
            unsafe fn deserialize_file(
                engine: &wasmtime::Engine,
                path: &Path,
            ) -> wasmtime::Result<Self> {
                // SAFETY: the caller's contract.
                unsafe { <$ty>::deserialize_file(engine, path) }
            }
        }
    };
}

compiled!(Module, loaded);
compiled!(Component, loaded_components);
