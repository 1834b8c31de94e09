//! Finding a handler's code: a `.wasm`/`.wat` file as given, a guest crate (e.g. `functions/hello`) built for
//! `wasm32-wasip1` with cargo on demand (`rust`), or a Python or JavaScript handler (a folder or one file) built
//! into a component of the handler world with componentize-py (`python`) or componentize-js (`js`); `component`
//! holds what those two builds share. A fresh clone needs nothing but rustup, python3 and node: the build tools are
//! fetched on first use.

mod component;
mod js;
mod python;
mod rust;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub use js::{COMPONENTIZE_JS_VERSION, default_js_handler};
pub use python::{COMPONENTIZE_PY_VERSION, default_python_handler};
pub use rust::GUEST_TARGET;

/// Whether building guests says so on stderr (`-q` turns it off).
static NOTES: AtomicBool = AtomicBool::new(true);

/// Turns the build notes on stderr off (`run -q`, `sweep -q`) or on.
pub fn set_quiet(quiet: bool) {
    NOTES.store(!quiet, Ordering::Relaxed);
}

/// A note on stderr about a build that is starting (it may take a while).
fn note(message: std::fmt::Arguments<'_>) {
    if NOTES.load(Ordering::Relaxed) {
        eprintln!("lambda-sim: {message}");
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    #[error(
        "{path}: no such file or directory (give a .wasm/.wat file, a guest crate such as functions/hello, or a Python or JavaScript handler such as functions/python-hello or functions/js-hello)"
    )]
    NotFound { path: String },
    #[error(
        "{path}: not a .wasm/.wat/.py/.mjs/.js file, a directory with a Cargo.toml, or a directory with Python or JavaScript modules"
    )]
    NotCode { path: String },
    #[error("{path}: {reason}")]
    Manifest { path: String, reason: String },
    #[error("building {path} failed:\n{output}")]
    Build { path: String, output: String },
    #[error("cannot run {program}: {reason}")]
    Tool { program: String, reason: String },
    #[error("cannot read {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What kind of code a `code` path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeKind {
    /// A `.wasm`/`.wat` file, or a file that starts as a WebAssembly binary does: used as it is.
    Wasm,
    PythonFile,
    JsFile,
    RustCrate,
    PythonDir,
    JsDir,
}

/// Tells what `path` holds without building anything.
fn kind(path: &Path) -> Result<CodeKind, GuestError> {
    let shown = || path.display().to_string();
    if path.is_file() {
        return match path.extension().and_then(|e| e.to_str()) {
            Some("py") => Ok(CodeKind::PythonFile),
            _ if js::is_js_file(path) => Ok(CodeKind::JsFile),
            Some("wasm" | "wat") => Ok(CodeKind::Wasm),
            _ => {
                let mut magic = [0u8; 4];
                let binary = std::fs::File::open(path)
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
                    .is_ok_and(|()| magic == *b"\0asm");
                if binary {
                    Ok(CodeKind::Wasm)
                } else {
                    Err(GuestError::NotCode { path: shown() })
                }
            }
        };
    }
    if !path.exists() {
        return Err(GuestError::NotFound { path: shown() });
    }
    if path.join("Cargo.toml").is_file() {
        Ok(CodeKind::RustCrate)
    } else if python::is_python_dir(path) {
        Ok(CodeKind::PythonDir)
    } else if js::is_js_dir(path) {
        Ok(CodeKind::JsDir)
    } else {
        Err(GuestError::NotCode { path: shown() })
    }
}

/// Checks, without building anything, that `path` is code [`resolve`] can use: a `.wasm`/`.wat`/`.py`/`.js`
/// file (or a file that starts as a WebAssembly binary does), a guest crate, or a Python or JavaScript handler
/// directory. `validate` calls it, so a wrong `code` is reported with its position in the scenario.
pub fn check(path: &Path) -> Result<(), GuestError> {
    kind(path).map(|_| ())
}

/// Returns the WebAssembly file (module or component) for `path`, building it first if `path` is source code.
pub fn resolve(path: &Path) -> Result<PathBuf, GuestError> {
    match kind(path)? {
        CodeKind::Wasm => Ok(path.to_path_buf()),
        CodeKind::PythonFile | CodeKind::PythonDir => python::build(path),
        CodeKind::JsFile | CodeKind::JsDir => js::build(path),
        CodeKind::RustCrate => rust::build(path),
    }
}
