//! Tests of the Azure trace readers (on the generated fixture in `tests/fixtures/azure/` and on hand-made rows),
//! of spreading minute counts into arrivals, and of function selection.

mod readers;
mod readers_other;
mod spread_select;

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

/// A file of the committed sample made by `scripts/make-azure-sample.py tests/fixtures/azure --functions 60`.
fn fixture(name: &str) -> BufReader<File> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "azure",
        name,
    ]
    .iter()
    .collect();
    super::open(&path).expect("fixture file exists")
}

const INVOCATIONS: &str = "invocations_per_function_md.anon.d01.csv";
const DURATIONS: &str = "function_durations_percentiles.anon.d01.csv";
const MEMORY: &str = "app_memory_percentiles.anon.d01.csv";
const TRACE_2021: &str = "AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt";

/// The 2019 invocation file's header line.
fn invocations_header() -> String {
    let mut h = String::from("HashOwner,HashApp,HashFunction,Trigger");
    for m in 1..=1440 {
        h.push_str(&format!(",{m}"));
    }
    h
}

/// A 2019 invocation row: zero everywhere except the given (1-based minute, count) pairs.
fn invocations_row(
    owner: &str,
    app: &str,
    function: &str,
    trigger: &str,
    counts: &[(usize, u32)],
) -> String {
    let mut c = vec![0u32; 1440];
    for &(minute, n) in counts {
        c[minute - 1] = n;
    }
    let mut row = format!("{owner},{app},{function},{trigger}");
    for n in c {
        row.push_str(&format!(",{n}"));
    }
    row
}
