//! What building a Python or JavaScript handler into a component of the handler world shares: the cache, the key a
//! build is cached under, the function's source files, running a build tool, and installing a toolchain into place.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

use super::GuestError;

/// The handler world every component targets.
pub(super) const WIT: &str = include_str!("../../wit/handler.wit");

/// lambda-sim's cache directory (built components and the toolchains that build them live there too).
pub(super) fn cache_dir() -> Result<PathBuf, GuestError> {
    crate::sandbox::CodeCache::default_dir().ok_or_else(|| GuestError::Tool {
        program: "lambda-sim".into(),
        reason: "no cache directory for built components: set LAMBDA_SIM_CACHE_DIR or HOME".into(),
    })
}

pub(super) fn io(path: &Path, source: std::io::Error) -> GuestError {
    GuestError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub(super) fn read(path: &Path) -> Result<String, GuestError> {
    std::fs::read_to_string(path).map_err(|source| io(path, source))
}

/// `path` relative to `root`, `/`-separated.
pub(super) fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The source files of `code`, relative to their root: the files under a folder whose names `is_source` accepts
/// (not in hidden folders, `__pycache__` or `node_modules`), sorted; or the one file given.
pub(super) fn source_files(
    code: &Path,
    is_source: fn(&str) -> bool,
) -> Result<(PathBuf, Vec<String>), GuestError> {
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
    walk(code, code, is_source, &mut files)?;
    files.sort();
    Ok((code.to_path_buf(), files))
}

fn walk(
    root: &Path,
    dir: &Path,
    is_source: fn(&str) -> bool,
    files: &mut Vec<String>,
) -> Result<(), GuestError> {
    let entries = std::fs::read_dir(dir).map_err(|source| io(dir, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| io(dir, source))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "__pycache__" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, is_source, files)?;
        } else if is_source(&name) {
            files.push(relative(root, &path));
        }
    }
    Ok(())
}

/// The key a build is cached under: a hash of everything the component depends on.
pub(super) struct ContentKey(Sha256);

impl ContentKey {
    pub(super) fn new(kind: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"lambda-sim component\0");
        h.update(kind.as_bytes());
        ContentKey(h)
    }

    pub(super) fn part(&mut self, part: &str) {
        self.0.update((part.len() as u64).to_le_bytes());
        self.0.update(part.as_bytes());
    }

    pub(super) fn file(&mut self, rel: &str, text: &str) {
        self.part(rel);
        self.part(text);
    }

    pub(super) fn finish(self) -> String {
        hex::encode(&self.0.finalize()[..16])
    }
}

/// The component cached under `key` in the cache's `kind` folder, built first by `build(stage, out)` if missing:
/// in a stage folder of its own, renamed into place when complete. `package` (in the stage) is the function's own
/// code as the component carries it; its size is written into the component as its deployment package's size
/// (what a cold start downloads: Lambda's runtimes are part of the environment, not of the package).
pub(super) fn cached_build(
    kind: &str,
    key: &str,
    package: &str,
    build: impl FnOnce(&Path, &Path) -> Result<(), GuestError>,
) -> Result<PathBuf, GuestError> {
    let cache = cache_dir()?.join(kind);
    let out = cache.join(format!("{key}.wasm"));
    if out.is_file() {
        return Ok(out);
    }
    let stage = cache.join(format!("build-{key}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&stage).map_err(|source| io(&stage, source))?;
    let built = stage.join("handler.wasm");
    let result = build(&stage, &built).and_then(|()| {
        let mut wasm = std::fs::read(&built).map_err(|source| io(&built, source))?;
        let package_bytes = std::fs::metadata(stage.join(package))
            .map_err(|source| io(&stage.join(package), source))?
            .len();
        use wasm_encoder::Section as _;
        wasm_encoder::CustomSection {
            name: crate::sandbox::PACKAGE_SECTION.into(),
            data: package_bytes.to_string().into_bytes().into(),
        }
        .append_to(&mut wasm);
        std::fs::write(&built, wasm).map_err(|source| io(&built, source))?;
        std::fs::rename(&built, &out).map_err(|source| io(&out, source))
    });
    let _ = std::fs::remove_dir_all(&stage);
    result.map(|()| out)
}

/// Runs a build tool; its output, or an error with what it printed.
pub(super) fn run(command: &mut Command) -> Result<Output, GuestError> {
    let program = format!("{command:?}");
    let output = command.output().map_err(|e| GuestError::Tool {
        program: program.clone(),
        reason: e.to_string(),
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(GuestError::Tool {
            program,
            reason: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(&output.stdout)
            ),
        })
    }
}

/// Runs a step of building the function at `shown` (`what` names the tool); a failure is the build's, with what the
/// tool printed (a syntax error's file and line, a package pip could not find).
pub(super) fn run_build_step(
    command: &mut Command,
    shown: &str,
    what: &str,
) -> Result<Output, GuestError> {
    run(command).map_err(|e| match e {
        GuestError::Tool { reason, .. } => GuestError::Build {
            path: shown.into(),
            output: format!("{what}: {reason}"),
        },
        other => other,
    })
}

/// Installs a toolchain into `dir` once: `install` fills a folder of its own, which is renamed into place when
/// complete, so concurrent builds never see half an installation. `marker` (relative to `dir`) shows it is there.
pub(super) fn install_once(
    dir: &Path,
    marker: &str,
    install: impl FnOnce(&Path) -> Result<(), GuestError>,
) -> Result<(), GuestError> {
    if dir.join(marker).exists() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|source| io(parent, source))?;
    }
    let partial = dir.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let installed = install(&partial);
    if let Err(e) = installed {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    match std::fs::rename(&partial, dir) {
        Ok(()) => Ok(()),
        // Another build installed it meanwhile.
        Err(_) if dir.join(marker).exists() => {
            let _ = std::fs::remove_dir_all(&partial);
            Ok(())
        }
        Err(source) => Err(io(dir, source)),
    }
}
