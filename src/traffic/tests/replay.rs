//! Replayed traces.

use std::path::{Path, PathBuf};

use super::S;
use crate::scenario::{ScenarioError, load};
use crate::traffic::TrafficGenerator;

/// Writes a scenario replaying `csv` (phase starting at 10 s, lasting 20 s) in a temporary directory.
fn setup(csv: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    std::fs::write(dir.path().join("events/a.json"), "{\"a\":1}").unwrap();
    std::fs::write(dir.path().join("events/bad.json"), "{").unwrap();
    std::fs::write(dir.path().join("trace.csv"), csv).unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        "[simulation]\nduration = 60\n[[function]]\nname = \"api\"\ncode = \"functions/hello\"\n\
         [[traffic]]\nfunction = \"api\"\npattern = \"replay\"\nfile = \"trace.csv\"\nstart = 10\nduration = 20\n\
         payload = '{\"default\":1}'\n",
    )
    .unwrap();
    (dir, path)
}

fn generator(csv: &str) -> (tempfile::TempDir, Result<TrafficGenerator, ScenarioError>) {
    let (dir, path) = setup(csv);
    let scenario = load(&path).unwrap();
    let g = TrafficGenerator::new(&scenario);
    (dir, g)
}

fn error(csv: &str) -> ScenarioError {
    match generator(csv).1 {
        Ok(_) => panic!("expected an error for {csv:?}"),
        Err(e) => e,
    }
}

#[test]
fn rows_stream_with_header_comments_and_payloads() {
    let csv = "time,function,payload\n# a comment\n0.5\n\n1.25,api\n1.25,,events/a.json\n2,\"api\",events/a.json\n19.999\n20\n21\n";
    let (_dir, g) = generator(csv);
    let mut g = g.unwrap();
    let arrivals: Vec<_> = std::iter::from_fn(|| g.pop()).collect();
    let times: Vec<u64> = arrivals.iter().map(|a| a.time_ns).collect();
    assert_eq!(
        times,
        [
            10 * S + S / 2,
            11 * S + S / 4,
            11 * S + S / 4,
            12 * S,
            29 * S + 999_000_000
        ]
    );
    let payloads: Vec<&[u8]> = arrivals.iter().map(|a| &a.payload[..]).collect();
    assert_eq!(
        payloads,
        [
            &b"{\"default\":1}"[..],
            b"{\"default\":1}",
            b"{\"a\":1}",
            b"{\"a\":1}",
            b"{\"default\":1}"
        ]
    );
    assert!(g.replay_error().is_none());
}

#[test]
fn timestamps_going_backwards_name_the_line() {
    let e = error("0.5\n1.0\n0.9\n");
    assert_eq!(e.line, 3);
    assert!(e.file.ends_with("trace.csv"), "{e}");
    assert!(
        e.message
            .contains("time goes backwards (the previous row is at 1 s)"),
        "{e}"
    );
}

#[test]
fn bad_rows_are_errors_with_positions() {
    let e = error("0.5\nsoon\n");
    assert_eq!((e.line, e.column), (2, 1));
    assert_eq!(e.message, "\"soon\" is not a number of seconds");

    let e = error("0.5, worker\n");
    assert_eq!((e.line, e.column), (1, 6));
    assert_eq!(
        e.message,
        "function \"worker\" does not match this traffic phase's function \"api\""
    );

    let e = error("0.5,api,events/missing.json\n");
    assert_eq!((e.line, e.column), (1, 9));
    assert!(
        e.message.starts_with("payload file ") && e.message.contains("missing.json"),
        "{e}"
    );

    let e = error("0.5,api,events/bad.json\n");
    assert!(e.message.contains("is not valid JSON"), "{e}");

    let e = error("0.5,api,,x\n");
    assert_eq!((e.line, e.column), (1, 10));

    let e = error("-1\n");
    assert_eq!(
        e.message,
        "time -1 must be a non-negative number of seconds"
    );

    let e = error("\n\ntime\nt2\n");
    assert_eq!(e.line, 4, "only the first row may be a header: {e}");
}

#[test]
fn an_empty_trace_has_no_arrivals() {
    let (_dir, g) = generator("time\n");
    assert!(g.unwrap().pop().is_none());
}

#[test]
fn a_missing_trace_is_an_error() {
    let (dir, path) = setup("1\n");
    let scenario = load(&path).unwrap();
    std::fs::remove_file(dir.path().join("trace.csv")).unwrap();
    let e = TrafficGenerator::new(&scenario).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.message.starts_with("cannot open trace"), "{e}");
    assert!(Path::new(&e.file).ends_with("trace.csv"));
}
