//! Garbage, truncated and mutated input: always an error (or a scenario), never a panic.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::scenario::parse;

const FULL: &str = r#"
[simulation]
name = "g"
duration = "10m"
seed = 42
[account]
concurrency_limit = 1000
scaling = "legacy"
legacy_burst = 500
[[function]]
name = "api"
code = "functions/hello"
memory_mb = 256
timeout = "3s"
reserved_concurrency = 10
provisioned_concurrency = 5
keep_alive = { policy = "fixed", duration = "10m" }
cold_start = { placement_ms = { distribution = "lognormal", median = 90, sigma = 0.35 }, download_mbps = 50 }
[[traffic]]
function = "api"
pattern = "step"
steps = [{ at = "0s", rate = 5 }, { at = "2m", rate = 50 }]
payload_template = { name = "x", w = { distribution = "empirical", values = [1, 2], weights = [1, 1] }, l = [1, "a"] }
[[traffic]]
function = "api"
pattern = "closed_loop"
users = 3
think_time_ms = { distribution = "exponential", mean = 500 }
"#;

#[test]
fn the_reference_file_is_valid() {
    parse(FULL, Path::new("g.toml")).unwrap();
}

#[test]
fn every_truncation_is_handled() {
    for end in (0..FULL.len()).filter(|&i| FULL.is_char_boundary(i)) {
        let r = parse(&FULL[..end], Path::new("g.toml"));
        if let Err(e) = r {
            assert!(e.line >= 1 && e.column >= 1, "{e}");
        }
    }
}

#[test]
fn random_mutations_are_handled() {
    let alphabet: Vec<char> = "[]{}=\"',.#\n 0123456789-_abcxyzé\u{0}\\\ttrue"
        .chars()
        .collect();
    let mut rng = StdRng::seed_from_u64(99);
    for _ in 0..3000 {
        let mut chars: Vec<char> = FULL.chars().collect();
        for _ in 0..rng.random_range(1..6) {
            let i = rng.random_range(0..chars.len());
            match rng.random_range(0..3) {
                0 => chars[i] = alphabet[rng.random_range(0..alphabet.len())],
                1 => {
                    chars.remove(i);
                }
                _ => chars.insert(i, alphabet[rng.random_range(0..alphabet.len())]),
            }
        }
        let text: String = chars.into_iter().collect();
        let _ = parse(&text, Path::new("g.toml"));
    }
}

#[test]
fn pure_garbage_is_handled() {
    for text in [
        "",
        "\u{0}\u{1}",
        "[[[",
        "= = =",
        "[simulation]\n[simulation]\n",
        "a.b.c = 1\na = 2",
        "\u{feff}x",
    ] {
        assert!(parse(text, Path::new("g.toml")).is_err(), "{text:?}");
    }
}
