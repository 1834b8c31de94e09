//! Rust guests: a guest crate built for `wasm32-wasip1` with cargo (installing the target with rustup if needed).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::GuestError;

/// The target guests build for.
pub const GUEST_TARGET: &str = "wasm32-wasip1";

/// Builds the guest crate at `path` and returns its module.
pub(super) fn build(path: &Path) -> Result<PathBuf, GuestError> {
    let shown = path.display().to_string();
    let manifest = path.join("Cargo.toml");
    let (package, lib) = crate_names(&manifest)?;
    let workspace = workspace_root(path).unwrap_or_else(|| path.to_path_buf());
    ensure_target(&workspace)?;
    let target_dir = workspace.join("target");
    eprintln!("lambda-sim: building {shown} for {GUEST_TARGET} (cargo build --release)…");
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
    let wasm = target_dir
        .join(GUEST_TARGET)
        .join("release")
        .join(format!("{lib}.wasm"));
    if wasm.is_file() {
        Ok(wasm)
    } else {
        Err(GuestError::Build {
            path: shown,
            output: format!(
                "cargo succeeded but {} is missing: is the crate a `cdylib`?",
                wasm.display()
            ),
        })
    }
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
    eprintln!(
        "lambda-sim: installing the {GUEST_TARGET} target (rustup target add {GUEST_TARGET})…"
    );
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
