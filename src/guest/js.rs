//! JavaScript handlers: Lambda's `export const handler = async (event, context) => …` built into a component of
//! the handler world with componentize-js, and cached by content hash.
//!
//! The component is lambda-sim's JavaScript runtime (`runtimes/js/lambda_sim_runtime.js`); the function's modules
//! (each top-level `.mjs`/`.js`/`.cjs` file of its folder, with what it imports, bundled by esbuild) travel inside it
//! as source text and are evaluated by the runtime's `init`, so a cold start runs their module-scope code. The build
//! tools (componentize-js and esbuild, at the versions of `runtimes/js/package-lock.json`) are installed on first use
//! with `npm ci` into lambda-sim's cache; `LAMBDA_SIM_NODE` and `LAMBDA_SIM_NPM` name the `node` and `npm` to use.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::GuestError;
use super::component::{
    ContentKey, WIT, cache_dir, cached_build, install_once, io, read, run, run_build_step,
    source_files,
};

/// The componentize-js release the lockfile pins.
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";

const PACKAGE_JSON: &str = include_str!("../../runtimes/js/package.json");
const PACKAGE_LOCK: &str = include_str!("../../runtimes/js/package-lock.json");
const BUILD: &str = include_str!("../../runtimes/js/build.mjs");
const RUNTIME: &str = include_str!("../../runtimes/js/lambda_sim_runtime.js");

fn is_js(name: &str) -> bool {
    name.ends_with(".mjs") || name.ends_with(".js") || name.ends_with(".cjs")
}

/// Lambda's console default for a folder (`index.mjs`, `handler`); for a single file, its module.
pub fn default_js_handler(code: &Path) -> String {
    match code.file_stem().and_then(|s| s.to_str()) {
        Some(stem) if code.is_file() => format!("{stem}.handler"),
        _ => "index.handler".into(),
    }
}

/// Whether `dir` holds a JavaScript handler: a `package.json` or a `.mjs`/`.js`/`.cjs` file at its top level.
pub(super) fn is_js_dir(dir: &Path) -> bool {
    dir.join("package.json").is_file()
        || std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.path().is_file() && is_js(&e.file_name().to_string_lossy()))
        })
}

/// Whether `file` is a JavaScript handler file.
pub(super) fn is_js_file(file: &Path) -> bool {
    is_js(&file.to_string_lossy())
}

/// Builds (or finds in the cache) the component for the JavaScript handler at `code` (a folder or one file).
pub(super) fn build(code: &Path) -> Result<PathBuf, GuestError> {
    let shown = code.display().to_string();
    let handler = default_js_handler(code);
    // Everything the bundles may contain: the function's own files, and its dependencies by their lockfile.
    let (root, files) = source_files(code, |name| is_js(name) || name == "package.json")?;
    let mut key = ContentKey::new("js 2");
    for part in [PACKAGE_LOCK, BUILD, RUNTIME, WIT, &handler] {
        key.part(part);
    }
    for rel in &files {
        key.file(rel, &read(&root.join(rel))?);
    }
    let lock = root.join("package-lock.json");
    if lock.is_file() {
        key.file("package-lock.json", &read(&lock)?);
    }
    cached_build(
        "js",
        &key.finish(),
        "lambda_sim_sources.js",
        |stage, out| {
            let tools = toolchain()?;
            super::note(format_args!(
                "building {shown} into a component with componentize-js…"
            ));
            let output = run_build_step(
                Command::new(node())
                    .arg(tools.join("build.mjs"))
                    .arg(code)
                    .arg(stage)
                    .arg(&handler)
                    .arg(out),
                &shown,
                "componentize-js",
            )?;
            // esbuild's warnings: modules that will fail in init, with their file, line and column.
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
            Ok(())
        },
    )
}

fn node() -> String {
    std::env::var("LAMBDA_SIM_NODE").unwrap_or_else(|_| "node".into())
}

fn npm() -> String {
    std::env::var("LAMBDA_SIM_NPM").unwrap_or_else(|_| "npm".into())
}

/// The folder with componentize-js and esbuild installed (`npm ci`, once per lockfile) and lambda-sim's build script
/// and runtime beside them (node resolves the script's imports from its own folder).
fn toolchain() -> Result<PathBuf, GuestError> {
    let mut lock_key = ContentKey::new("js toolchain");
    lock_key.part(PACKAGE_LOCK);
    let dir = cache_dir()?.join("toolchains").join(format!(
        "componentize-js-{COMPONENTIZE_JS_VERSION}-{}",
        &lock_key.finish()[..8]
    ));
    install_once(&dir, "node_modules/.package-lock.json", |partial| {
        super::note(format_args!(
            "installing componentize-js {COMPONENTIZE_JS_VERSION} and esbuild into {} (npm ci, once)…",
            dir.display()
        ));
        std::fs::create_dir_all(partial).map_err(|source| io(partial, source))?;
        for (name, text) in [
            ("package.json", PACKAGE_JSON),
            ("package-lock.json", PACKAGE_LOCK),
        ] {
            std::fs::write(partial.join(name), text).map_err(|source| io(partial, source))?;
        }
        run(Command::new(npm()).current_dir(partial).args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]))?;
        Ok(())
    })?;
    // The build script, the runtime and the world this lambda-sim was built with (rewritten whole each time:
    // another lambda-sim may share the cache).
    for (name, text) in [
        ("build.mjs", BUILD),
        ("lambda_sim_runtime.js", RUNTIME),
        ("handler.wit", WIT),
    ] {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            let tmp = dir.join(format!("{name}.tmp{}", std::process::id()));
            std::fs::write(&tmp, text).map_err(|source| io(&tmp, source))?;
            std::fs::rename(&tmp, &path).map_err(|source| io(&path, source))?;
        }
    }
    Ok(dir)
}
