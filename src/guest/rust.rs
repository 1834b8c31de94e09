//! Rust guests: a guest crate built for `wasm32-wasip1` with cargo (installing the target with rustup if needed),
//! only when its module is older than its sources, and never into the user's tree.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::GuestError;

/// The target guests build for.
pub const GUEST_TARGET: &str = "wasm32-wasip1";

/// The module of the guest crate at `path`, built only when needed.
///
/// - If the crate's workspace has built it (`<workspace>/target/wasm32-wasip1/release/<lib>.wasm`, e.g. by
///   `cargo build --release --target wasm32-wasip1` there) and the module is newer than every file of the workspace,
///   that module is used as it is.
/// - Otherwise cargo builds it into lambda-sim's cache (`<cache>/rust-target/<workspace key>/`), never into the
///   user's tree; a module there newer than every file is used without running cargo at all.
pub(super) fn build(path: &Path) -> Result<PathBuf, GuestError> {
    let shown = path.display().to_string();
    let manifest = path.join("Cargo.toml");
    let (package, lib) = crate_names(&manifest)?;
    let workspace = workspace_root(path).unwrap_or_else(|| path.to_path_buf());
    let module = |target_dir: &Path| {
        target_dir
            .join(GUEST_TARGET)
            .join("release")
            .join(format!("{lib}.wasm"))
    };
    let newest_source = newest_file(&workspace);
    let fresh = |wasm: &Path| {
        modified(wasm).is_some_and(|built| newest_source.is_some_and(|source| built >= source))
    };
    let own = module(&workspace.join("target"));
    if fresh(&own) {
        return Ok(own);
    }
    let target_dir = super::component::cache_dir()?
        .join("rust-target")
        .join(workspace_key(&workspace));
    let wasm = module(&target_dir);
    if fresh(&wasm) {
        return Ok(wasm);
    }
    ensure_target(&workspace)?;
    super::note(format_args!(
        "building {shown} for {GUEST_TARGET} (cargo build --release, into {})…",
        target_dir.display()
    ));
    let output = Command::new("cargo")
        .current_dir(&workspace)
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            GUEST_TARGET,
            "-p",
            &package,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .map_err(|e| GuestError::Tool {
            program: "cargo".into(),
            reason: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(GuestError::Build {
            path: shown,
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    if !wasm.is_file() {
        return Err(GuestError::Build {
            path: shown,
            output: format!(
                "cargo succeeded but {} is missing: is the crate a `cdylib`?",
                wasm.display()
            ),
        });
    }
    // cargo leaves a module alone when a file it does not depend on changed: mark it checked, so the next run
    // does not ask cargo again.
    if let Ok(file) = std::fs::File::options().append(true).open(&wasm) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
    Ok(wasm)
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// When the newest file under `dir` was modified (not looking into `target`, hidden or `node_modules` folders).
fn newest_file(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = modified(dir);
    let entries = std::fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let time = if kind.is_dir() {
            if name == "target" || name == "node_modules" || name.starts_with('.') {
                continue;
            }
            newest_file(&entry.path())
        } else {
            modified(&entry.path())
        };
        newest = newest.max(time);
    }
    newest
}

/// A directory name for `workspace`'s builds in the cache: its name and a hash of its absolute path.
fn workspace_key(workspace: &Path) -> String {
    use sha2::{Digest, Sha256};
    let absolute = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf());
    let hash = Sha256::digest(absolute.to_string_lossy().as_bytes());
    let name: String = absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{name}-{hex}")
}

/// The package name and the library target's file stem.
fn crate_names(manifest: &Path) -> Result<(String, String), GuestError> {
    let err = |reason: String| GuestError::Manifest {
        path: manifest.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(manifest).map_err(|e| err(e.to_string()))?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| err(e.to_string()))?;
    let package = doc
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| err("has no [package] name".into()))?
        .to_string();
    let lib = doc
        .get("lib")
        .and_then(|l| l.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| package.replace('-', "_"));
    Ok((package, lib))
}

/// The nearest ancestor (including `dir`) whose Cargo.toml declares a `[workspace]`.
fn workspace_root(dir: &Path) -> Option<PathBuf> {
    let dir = dir.canonicalize().ok()?;
    dir.ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .map(|t| t.lines().any(|l| l.trim() == "[workspace]"))
                .unwrap_or(false)
        })
        .map(Path::to_path_buf)
}

/// Installs the wasm32-wasip1 standard library with rustup if the toolchain lacks it.
fn ensure_target(workspace: &Path) -> Result<(), GuestError> {
    let libdir = Command::new("rustc")
        .current_dir(workspace)
        .args(["--print", "target-libdir", "--target", GUEST_TARGET])
        .output()
        .map_err(|e| GuestError::Tool {
            program: "rustc".into(),
            reason: e.to_string(),
        })?;
    let path = String::from_utf8_lossy(&libdir.stdout).trim().to_string();
    if libdir.status.success() && Path::new(&path).is_dir() {
        return Ok(());
    }
    super::note(format_args!(
        "installing the {GUEST_TARGET} target (rustup target add {GUEST_TARGET})…"
    ));
    let status = Command::new("rustup")
        .current_dir(workspace)
        .args(["target", "add", GUEST_TARGET])
        .status()
        .map_err(|e| GuestError::Tool {
            program: "rustup".into(),
            reason: e.to_string(),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(GuestError::Tool {
            program: "rustup target add".into(),
            reason: format!("exited with {status}"),
        })
    }
}
