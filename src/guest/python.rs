//! Python handlers: Lambda's `def lambda_handler(event, context)` built into a component of the handler world
//! (`wit/handler.wit`) with componentize-py, and cached by content hash.
//!
//! The component's app is lambda-sim's Python runtime (`runtimes/python/lambda_sim_runtime.py`); the function's
//! modules (its folder, or one `.py` file, plus pure-Python packages from a `requirements.txt` beside it) travel
//! inside it as source and are imported by the runtime's `init`, so a cold start runs their module-scope code.
//! componentize-py is installed on first use into a virtual environment in lambda-sim's cache directory, unless
//! `LAMBDA_SIM_COMPONENTIZE_PY` names one; `LAMBDA_SIM_PYTHON` names the interpreter that creates it (`python3`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::GuestError;

/// The componentize-py release lambda-sim installs and builds with (it bundles CPython 3.14).
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// lambda-sim's Python runtime: the component's app.
const RUNTIME: &str = include_str!("../../runtimes/python/lambda_sim_runtime.py");
/// The handler world the component targets.
const WIT: &str = include_str!("../../wit/handler.wit");

/// Lambda's console default for a folder (`lambda_function.py`, `lambda_handler`); for a single file, its module.
pub fn default_python_handler(code: &Path) -> String {
    match code.extension().and_then(|e| e.to_str()) {
        Some("py") => format!(
            "{}.lambda_handler",
            code.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("lambda_function")
        ),
        _ => "lambda_function.lambda_handler".into(),
    }
}

/// Whether `dir` holds a Python handler: any `.py` file at its top level.
pub(super) fn is_python_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "py") && e.path().is_file())
    })
}

/// Builds (or finds in the cache) the component for the Python handler at `code` (a folder or a `.py` file).
pub(super) fn build(code: &Path) -> Result<PathBuf, GuestError> {
    let shown = code.display().to_string();
    // The handler is the environment's `_HANDLER` (the function's `handler` setting); this is its default.
    let handler = default_python_handler(code);
    let (root, files) = source_files(code)?;
    let requirements = root.join("requirements.txt");
    let requirements = requirements.is_file().then_some(requirements);

    let mut key = Sha256::new();
    key.update(b"lambda-sim python component 1\0");
    for part in [COMPONENTIZE_PY_VERSION, RUNTIME, WIT, &handler] {
        key.update((part.len() as u64).to_le_bytes());
        key.update(part.as_bytes());
    }
    let mut sources = BTreeMap::new();
    for rel in &files {
        let path = root.join(rel);
        let text = read(&path)?;
        key.update((rel.len() as u64).to_le_bytes());
        key.update(rel.as_bytes());
        key.update((text.len() as u64).to_le_bytes());
        key.update(text.as_bytes());
        add_module(&mut sources, rel, text);
    }
    if let Some(req) = &requirements {
        key.update(b"requirements.txt\0");
        key.update(read(req)?.as_bytes());
    }
    let key = hex::encode(&key.finalize()[..16]);

    let cache = cache_dir()?.join("python");
    let out = cache.join(format!("{key}.wasm"));
    if out.is_file() {
        return Ok(out);
    }
    let tools = Toolchain::find_or_install(&cache_dir()?)?;
    eprintln!("lambda-sim: building {shown} into a component with componentize-py…");
    let stage = cache.join(format!("build-{key}-{}", std::process::id()));
    let result = build_in(
        &stage,
        &tools,
        &shown,
        &handler,
        requirements.as_deref(),
        sources,
    )
    .and_then(|built| {
        std::fs::rename(&built, &out).map_err(|source| GuestError::Io {
            path: out.display().to_string(),
            source,
        })
    });
    let _ = std::fs::remove_dir_all(&stage);
    result.map(|()| out)
}

/// Lays out the app in `stage` and runs componentize-py; returns the component file.
fn build_in(
    stage: &Path,
    tools: &Toolchain,
    shown: &str,
    handler: &str,
    requirements: Option<&Path>,
    mut sources: BTreeMap<String, Module>,
) -> Result<PathBuf, GuestError> {
    let write = |rel: &str, text: &str| {
        let path = stage.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
        }
        std::fs::write(&path, text).map_err(|source| io(&path, source))
    };
    if let Some(req) = requirements {
        let deps = stage.join("deps");
        install_requirements(tools, shown, req, &deps)?;
        let (_, files) = source_files(&deps)?;
        for rel in &files {
            add_module(&mut sources, rel, read(&deps.join(rel))?);
        }
    }
    write("lambda_sim_runtime.py", RUNTIME)?;
    write("wit/handler.wit", WIT)?;
    write(
        "lambda_sim_config.py",
        &format!(
            "# Written by lambda-sim for this build: the handler when `_HANDLER` is not set.\nDEFAULT_HANDLER = {}\n",
            serde_json::Value::from(handler)
        ),
    )?;
    let sources = serde_json::to_string(&sources).map_err(|e| GuestError::Build {
        path: shown.into(),
        output: e.to_string(),
    })?;
    write("lambda_sim_sources.json", &sources)?;
    let out = stage.join("handler.wasm");
    let output = tools
        .componentize_py()
        .current_dir(stage)
        .args([
            "-d",
            "wit",
            "-w",
            "handler",
            "componentize",
            "lambda_sim_runtime",
        ])
        .args(["-p", "."])
        .arg("-o")
        .arg(&out)
        // Only the stage is the app's path: not a virtual environment the caller happens to be in.
        .env_remove("VIRTUAL_ENV")
        .output()
        .map_err(|e| GuestError::Tool {
            program: "componentize-py".into(),
            reason: e.to_string(),
        })?;
    if !output.status.success() || !out.is_file() {
        return Err(GuestError::Build {
            path: shown.into(),
            output: format!(
                "componentize-py: {}{}",
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(&output.stdout)
            ),
        });
    }
    Ok(out)
}

/// Installs `requirements.txt` into `deps` with the toolchain's pip; refuses packages with native extensions,
/// which cannot run in WebAssembly.
fn install_requirements(
    tools: &Toolchain,
    shown: &str,
    requirements: &Path,
    deps: &Path,
) -> Result<(), GuestError> {
    eprintln!(
        "lambda-sim: installing {} for {shown} (pip install --target)…",
        requirements.display()
    );
    let output = Command::new(&tools.python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-compile", "--target"])
        .arg(deps)
        .arg("-r")
        .arg(requirements)
        .output()
        .map_err(|e| GuestError::Tool {
            program: format!("{} -m pip", tools.python.display()),
            reason: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(GuestError::Build {
            path: shown.into(),
            output: format!(
                "pip install -r {}: {}",
                requirements.display(),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    let mut native = Vec::new();
    find_native(deps, deps, &mut native);
    if !native.is_empty() {
        return Err(GuestError::Build {
            path: shown.into(),
            output: format!(
                "{} installs native extension modules, which cannot run in WebAssembly (componentize-py bundles \
                 pure-Python packages only): {}",
                requirements.display(),
                native.join(", ")
            ),
        });
    }
    Ok(())
}

fn find_native(root: &Path, dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            find_native(root, &path, found);
        } else if path
            .extension()
            .is_some_and(|x| x == "so" || x == "pyd" || x == "dylib")
        {
            found.push(relative(root, &path));
        }
    }
}

/// One module of the function, as the runtime's importer serves it.
#[derive(serde::Serialize)]
struct Module {
    /// The file name tracebacks show: where Lambda unpacks a function's code.
    file: String,
    source: String,
    package: bool,
}

/// Adds the module at `rel` (a path under the code's root, `/`-separated) and the namespace packages above it.
fn add_module(sources: &mut BTreeMap<String, Module>, rel: &str, source: String) {
    let Some(stem) = rel.strip_suffix(".py") else {
        return;
    };
    let (name, package) = match stem.strip_suffix("/__init__") {
        Some(dir) => (dir.replace('/', "."), true),
        None if stem == "__init__" => return,
        None => (stem.replace('/', "."), false),
    };
    // Folders without __init__.py are namespace packages: present, empty, searchable.
    let mut parent = String::new();
    for part in name
        .split('.')
        .rev()
        .skip(1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        if !parent.is_empty() {
            parent.push('.');
        }
        parent.push_str(part);
        sources.entry(parent.clone()).or_insert_with(|| Module {
            file: format!("/var/task/{}/__init__.py", parent.replace('.', "/")),
            source: String::new(),
            package: true,
        });
    }
    sources.insert(
        name,
        Module {
            file: format!("/var/task/{rel}"),
            source,
            package,
        },
    );
}

/// The Python files of `code`, relative to their root: every `.py` file under a folder (not in `__pycache__` or
/// hidden folders), or the one file given.
fn source_files(code: &Path) -> Result<(PathBuf, Vec<String>), GuestError> {
    if code.is_file() {
        let root = code
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let name = code
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok((root, vec![name]));
    }
    let mut files = Vec::new();
    walk(code, code, &mut files)?;
    files.sort();
    Ok((code.to_path_buf(), files))
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<String>) -> Result<(), GuestError> {
    let entries = std::fs::read_dir(dir).map_err(|source| io(dir, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| io(dir, source))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "__pycache__" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, files)?;
        } else if name.ends_with(".py") {
            files.push(relative(root, &path));
        }
    }
    Ok(())
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn read(path: &Path) -> Result<String, GuestError> {
    std::fs::read_to_string(path).map_err(|source| io(path, source))
}

fn io(path: &Path, source: std::io::Error) -> GuestError {
    GuestError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn cache_dir() -> Result<PathBuf, GuestError> {
    crate::sandbox::CodeCache::default_dir().ok_or_else(|| GuestError::Tool {
        program: "componentize-py".into(),
        reason: "no cache directory for built components: set LAMBDA_SIM_CACHE_DIR or HOME".into(),
    })
}

/// componentize-py and the Python whose pip installs a function's requirements.
struct Toolchain {
    /// `LAMBDA_SIM_COMPONENTIZE_PY`; `None`: run the module with `python`.
    componentize_py: Option<PathBuf>,
    python: PathBuf,
}

impl Toolchain {
    /// `LAMBDA_SIM_COMPONENTIZE_PY` if set, else the virtual environment in the cache, created on first use.
    fn find_or_install(cache: &Path) -> Result<Toolchain, GuestError> {
        if let Some(path) = std::env::var_os("LAMBDA_SIM_COMPONENTIZE_PY") {
            let componentize_py = PathBuf::from(path);
            let python = componentize_py.with_file_name("python");
            return Ok(Toolchain {
                python: if python.is_file() {
                    python
                } else {
                    PathBuf::from(python_command())
                },
                componentize_py: Some(componentize_py),
            });
        }
        let venv = cache
            .join("toolchains")
            .join(format!("componentize-py-{COMPONENTIZE_PY_VERSION}"));
        let python = venv.join("bin").join("python");
        if !python.is_file() {
            install(&venv)?;
        }
        Ok(Toolchain {
            componentize_py: None,
            python,
        })
    }

    /// A command that runs componentize-py (its arguments follow).
    fn componentize_py(&self) -> Command {
        match &self.componentize_py {
            Some(program) => Command::new(program),
            None => {
                // The console script's shebang names the folder the venv was created in, which was renamed into
                // place: run the entry point with the venv's interpreter instead.
                let mut command = Command::new(&self.python);
                command.args([
                    "-c",
                    "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())",
                ]);
                command
            }
        }
    }
}

fn python_command() -> String {
    std::env::var("LAMBDA_SIM_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Creates the virtual environment with componentize-py: in a folder of its own, renamed into place when complete,
/// so concurrent builds never see half an installation.
fn install(venv: &Path) -> Result<(), GuestError> {
    let python = python_command();
    eprintln!(
        "lambda-sim: installing componentize-py {COMPONENTIZE_PY_VERSION} into {} (once)…",
        venv.display()
    );
    let partial = venv.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let run = |program: &str, args: &[&str]| -> Result<(), GuestError> {
        let output = Command::new(program)
            .args(args)
            .output()
            .map_err(|e| GuestError::Tool {
                program: program.to_string(),
                reason: e.to_string(),
            })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(GuestError::Tool {
                program: format!("{program} {}", args.join(" ")),
                reason: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
    };
    let partial_str = partial.display().to_string();
    run(&python, &["-m", "venv", &partial_str])?;
    let venv_python = partial.join("bin").join("python").display().to_string();
    let package = format!("componentize-py=={COMPONENTIZE_PY_VERSION}");
    run(
        &venv_python,
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &package,
        ],
    )?;
    // Renaming keeps `bin/python` working (a symlink to the base interpreter, which finds the venv by its own
    // location) but not the scripts' shebangs: `Toolchain::componentize_py` runs the entry point instead.
    match std::fs::rename(&partial, venv) {
        Ok(()) => Ok(()),
        // Another build installed it meanwhile.
        Err(_) if venv.join("bin").join("python").is_file() => {
            let _ = std::fs::remove_dir_all(&partial);
            Ok(())
        }
        Err(source) => Err(io(venv, source)),
    }
}
