//! The layers of the `lambda-sim` crate: no module imports from a layer above it.
//!
//! The pure model (`lambda-sim-model`) and the sandboxes (`lambda-sim-sandbox`) are crates of their own, so the
//! compiler keeps wasmtime, tokio and the scenario parser out of the model. Inside the top crate the layers are
//! checked here: every `crate::<module>` path in a module's code (test code aside) must name a module of a lower
//! layer, so there are no cycles and each layer can be read knowing only the ones below it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and its layer; a module may use modules of lower layers only.
const LAYERS: &[(&str, u32)] = &[
    // Re-exports of the workspace's lower crates.
    ("model", 0),
    ("sandbox", 0),
    ("cpu", 0),
    ("limits", 0),
    // Leaves: formats and helpers that know only the model and the sandboxes.
    ("guest", 1),
    ("logfmt", 1),
    ("event_shapes", 1),
    ("traces", 1),
    // What to simulate.
    ("scenario", 2),
    // Writes scenario files as text; reads templates and logs, not scenarios.
    ("import", 2),
    ("traffic", 3),
    ("report", 3),
    ("metrics", 4),
    // Event sources' glue and deploying code.
    ("sources", 5),
    ("deploy", 5),
    // The invocation lifecycle, shared by both drivers.
    ("lifecycle", 6),
    // The drivers and what runs on them.
    ("sim", 7),
    ("live", 7),
    ("api", 8),
    ("lab", 8),
    ("cli", 9),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // Test-only directories (`tests/`) may build fixtures from any layer.
            if path.file_name().is_some_and(|n| n != "tests") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let test_file = name.as_deref().is_some_and(|n| {
                n == "tests.rs" || n.ends_with("_tests.rs") || n.starts_with("tests_")
            });
            if !test_file {
                out.push(path);
            }
        }
    }
}

/// The top-level modules a file's code names as `crate::<module>` (comments and `#[cfg(test)]` items left out).
fn uses(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    // Inside a `#[cfg(test)]` item: the brace depth it opened (None before its first brace).
    let mut skipping: Option<Option<i64>> = None;
    for line in source.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let code = code.split("//").next().unwrap_or("");
        if code.starts_with("#[cfg(test)]") {
            skipping = Some(None);
            continue;
        }
        if let Some(depth) = skipping {
            let opened = code.matches('{').count() as i64 - code.matches('}').count() as i64;
            skipping = match depth {
                // A one-line item (`mod tests;`) or the opening line of a block.
                None if !code.contains('{') => (!code.trim_end().ends_with(';')).then_some(None),
                None => (opened > 0).then_some(Some(opened)),
                Some(d) => (d + opened > 0).then_some(Some(d + opened)),
            };
            continue;
        }
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut violations = Vec::new();
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(&root)
        .expect("src/ is readable")
        .flatten()
    {
        let path = entry.path();
        let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            continue;
        };
        if stem == "lib" || stem == "main" {
            continue;
        }
        modules.push(stem.clone());
        let Some(&own) = layer.get(stem.as_str()) else {
            violations.push(format!("src/{stem}: not in LAYERS (give it a layer)"));
            continue;
        };
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path.clone());
        }
        for file in files {
            let source = std::fs::read_to_string(&file).expect("source is readable");
            for used in uses(&source) {
                if used == stem {
                    continue;
                }
                match layer.get(used.as_str()) {
                    Some(&l) if l < own => {}
                    Some(&l) => violations.push(format!(
                        "{}: `{stem}` (layer {own}) uses `crate::{used}` (layer {l})",
                        file.strip_prefix(&root).unwrap_or(&file).display()
                    )),
                    None => violations.push(format!(
                        "{}: uses `crate::{used}`, which is not in LAYERS",
                        file.strip_prefix(&root).unwrap_or(&file).display()
                    )),
                }
            }
        }
    }
    for (name, _) in LAYERS {
        let re_export = matches!(*name, "model" | "sandbox" | "cpu" | "limits");
        if !re_export && !modules.iter().any(|m| m == name) {
            violations.push(format!(
                "LAYERS names `{name}`, which is not a module of src/"
            ));
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}
