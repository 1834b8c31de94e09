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

use super::GuestError;
use super::component::{
    ContentKey, WIT, cache_dir, cached_build, install_once, io, read, relative, run,
    run_build_step, source_files,
};

/// The componentize-py release lambda-sim installs and builds with (it bundles CPython 3.14).
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// lambda-sim's Python runtime: the component's app.
const RUNTIME: &str = include_str!("../../runtimes/python/lambda_sim_runtime.py");

/// Prints a warning for each module of the sources file that does not parse.
const SYNTAX_CHECK: &str = r#"
import ast, json, sys
for m in json.load(open(sys.argv[1], encoding="utf-8")).values():
    try:
        ast.parse(m["source"], m["file"])
    except SyntaxError as e:
        print(f"lambda-sim: warning: {m['file'][len('/var/task/'):]}:{e.lineno}:{e.offset}: {e.msg} "
              "(the invocation will report Runtime.UserCodeSyntaxError)")
"#;

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
    // The handler is the function's `handler` setting (the context's `handler()`); this is its default.
    let handler = default_python_handler(code);
    let (root, files) = source_files(code, |name| name.ends_with(".py"))?;
    let requirements = root.join("requirements.txt");
    let requirements = requirements.is_file().then_some(requirements);

    let mut key = ContentKey::new("python 4");
    for part in [COMPONENTIZE_PY_VERSION, RUNTIME, WIT, &handler] {
        key.part(part);
    }
    let mut sources = BTreeMap::new();
    for rel in &files {
        let text = read(&root.join(rel))?;
        key.file(rel, &text);
        add_module(&mut sources, rel, text);
    }
    if let Some(req) = &requirements {
        key.file("requirements.txt", &read(req)?);
    }
    cached_build(
        "python",
        &key.finish(),
        "lambda_sim_sources.json",
        |stage, out| {
            let tools = Toolchain::find_or_install(&cache_dir()?)?;
            super::note(format_args!(
                "building {shown} into a component with componentize-py…"
            ));
            build_in(
                stage,
                out,
                &tools,
                &shown,
                &handler,
                requirements.as_deref(),
                sources,
            )
        },
    )
}

/// Lays out the app in `stage` and runs componentize-py, which writes the component to `out`.
fn build_in(
    stage: &Path,
    out: &Path,
    tools: &Toolchain,
    shown: &str,
    handler: &str,
    requirements: Option<&Path>,
    mut sources: BTreeMap<String, Module>,
) -> Result<(), GuestError> {
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
        let (_, files) = source_files(&deps, |name| name.ends_with(".py"))?;
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
    let mut command = tools.componentize_py();
    let command = command
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
        .arg(out)
        // Only the stage is the app's path: not a virtual environment the caller happens to be in.
        .env_remove("VIRTUAL_ENV");
    run_build_step(command, shown, "componentize-py")?;
    // Syntax errors, said now with their place (the host's Python parses them; init will report them as Lambda does).
    if let Ok(output) = Command::new(&tools.python)
        .args(["-c", SYNTAX_CHECK])
        .arg(stage.join("lambda_sim_sources.json"))
        .output()
    {
        eprint!("{}", String::from_utf8_lossy(&output.stdout));
    }
    Ok(())
}

/// Installs `requirements.txt` into `deps` with the toolchain's pip; refuses packages with native extensions,
/// which cannot run in WebAssembly.
fn install_requirements(
    tools: &Toolchain,
    shown: &str,
    requirements: &Path,
    deps: &Path,
) -> Result<(), GuestError> {
    super::note(format_args!(
        "installing {} for {shown} (pip install --target)…",
        requirements.display()
    ));
    run_build_step(
        pip_install(&tools.python)
            .args(["--no-compile", "--target"])
            .arg(deps)
            .arg("-r")
            .arg(requirements),
        shown,
        &format!("pip install -r {}", requirements.display()),
    )?;
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

/// `python -m pip install`, quietly.
fn pip_install(python: &Path) -> Command {
    let mut command = Command::new(python);
    command.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    command
}

fn python_command() -> String {
    std::env::var("LAMBDA_SIM_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Creates the virtual environment with componentize-py (once; see `install_once`).
fn install(venv: &Path) -> Result<(), GuestError> {
    install_once(venv, "bin/python", |partial| {
        super::note(format_args!(
            "installing componentize-py {COMPONENTIZE_PY_VERSION} into {} (once)…",
            venv.display()
        ));
        run(Command::new(python_command())
            .args(["-m", "venv"])
            .arg(partial))?;
        let package = format!("componentize-py=={COMPONENTIZE_PY_VERSION}");
        // Renaming keeps `bin/python` working (a symlink to the base interpreter, which finds the venv by its own
        // location) but not the scripts' shebangs: `Toolchain::componentize_py` runs the entry point instead.
        run(pip_install(&partial.join("bin").join("python")).arg(package))?;
        Ok(())
    })
}
