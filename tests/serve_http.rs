//! `lambda-sim serve` over raw HTTP: malformed and oversized requests, unknown routes, graceful shutdown; and
//! `run --mode realtime`.

mod common;

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use common::serve::{request, serve};
use common::*;

const INVOKE: &str = "/2015-03-31/functions/hello/invocations";

#[test]
fn malformed_oversized_and_unknown_requests_get_lambda_errors() {
    let server = serve(&["--function", "hello=functions/hello"]);
    let a = server.addr.as_str();
    let (status, head, body) = request(a, "POST", INVOKE, &[], b"{\"name\":");
    assert_eq!(status, 400);
    assert!(
        head.contains("x-amzn-errortype: invalidrequestcontentexception"),
        "{head}"
    );
    assert!(
        body.contains("Could not parse request body into json"),
        "{body}"
    );

    let big = vec![b' '; 6_291_457];
    let (status, head, body) = request(a, "POST", INVOKE, &[], &big);
    assert_eq!(status, 413);
    assert!(
        head.contains("x-amzn-errortype: requestentitytoolargeexception"),
        "{head}"
    );
    assert!(
        body.contains("Request must be smaller than 6291456 bytes"),
        "{body}"
    );

    let event = vec![b' '; 1_048_577];
    let (status, _, body) = request(
        a,
        "POST",
        INVOKE,
        &[("X-Amz-Invocation-Type", "Event")],
        &event,
    );
    assert_eq!(status, 413);
    assert!(
        body.contains("Event invocation type (limit 1048576 bytes)"),
        "{body}"
    );

    let (status, head, _) = request(a, "GET", "/no/such/route", &[], b"");
    assert_eq!(status, 404);
    assert!(
        head.contains("x-amzn-errortype: unknownoperationexception"),
        "{head}"
    );

    let (status, _, body) = request(
        a,
        "POST",
        INVOKE,
        &[("X-Amz-Invocation-Type", "Sometimes")],
        b"{}",
    );
    assert_eq!(status, 400);
    assert!(
        body.contains("Member must satisfy enum value set"),
        "{body}"
    );

    // The server is still healthy after all that.
    let (status, head, body) = request(a, "POST", INVOKE, &[], br#"{"name":"ok"}"#);
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"message":"Hello, ok!"}"#)
    );
    assert!(head.contains("x-amz-executed-version: $latest"));
}

#[test]
fn sigterm_lets_in_flight_invocations_finish_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("serve.json");
    let mut server = serve(&[
        "--function",
        "io=functions/io",
        "--json",
        json.to_str().unwrap(),
    ]);
    let addr = server.addr.clone();
    let inflight = std::thread::spawn(move || {
        request(
            &addr,
            "POST",
            "/2015-03-31/functions/io/invocations",
            &[],
            br#"{"calls":1,"latency_ms":1500}"#,
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let (status, _, body) = inflight.join().unwrap();
    assert_eq!(status, 200, "the in-flight invocation completes: {body}");
    assert!(body.contains("\"waited_ms\":1500"), "{body}");
    let mut stdout = String::new();
    server
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let code = server.child.wait().unwrap();
    assert!(code.success(), "{code:?}");
    assert!(
        stdout.contains("conservation  arrivals 1 = 1 success"),
        "{stdout}"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["functions"]["io"]["arrivals"], 1);
}

#[test]
fn run_in_realtime_mode_throttles_like_virtual_mode() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("rt.json");
    let out = Command::new(env!("CARGO_BIN_EXE_lambda-sim"))
        .current_dir(root())
        .env(
            "LAMBDA_SIM_CACHE_DIR",
            root().join("target/lambda-sim-test-cache"),
        )
        .args([
            "run",
            "scenarios/realtime-spike.toml",
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["mode"], "realtime");
    let f = &v["functions"]["orders"];
    assert_eq!(v["conservation"]["ok"], true);
    assert!(
        f["throttles"]["ReservedFunctionConcurrentInvocationLimitExceeded"]
            .as_u64()
            .unwrap()
            >= 10,
        "{f}"
    );
    assert_eq!(f["peak_concurrency"], 3);
    let warm_p50 = f["latency_ms"]["warm"]["p50"].as_f64().unwrap();
    assert!(
        (300.0..400.0).contains(&warm_p50),
        "measured durations: {warm_p50}"
    );
}

#[test]
fn a_slow_cold_start_does_not_hold_up_other_functions() {
    // `stuck`'s start function never returns: its cold start runs until the 10 s init limit. Meanwhile requests to
    // `hello` are answered: a guest's code yields its thread (it used to hold one for the whole 10 s, and with it
    // every request queued behind).
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        format!(
            "[simulation]\nduration = \"1h\"\n[[function]]\nname = \"stuck\"\ncode = \"{}\"\ntimeout = 1\n\
             [[function]]\nname = \"hello\"\ncode = \"{}\"\n",
            fixture("start-loops").display(),
            root().join("functions/hello").display()
        ),
    )
    .unwrap();
    let server = serve(&[scenario.to_str().unwrap()]);
    let addr = server.addr.clone();
    let stuck = std::thread::spawn(move || {
        request(
            &addr,
            "POST",
            "/2015-03-31/functions/stuck/invocations",
            &[],
            b"{}",
        )
    });
    // Several hello requests while the cold start spins (two cores: at least one keeps serving).
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        let (status, _, body) = request(&server.addr, "POST", INVOKE, &[], br#"{"name":"x"}"#);
        assert_eq!((status, body.as_str()), (200, r#"{"message":"Hello, x!"}"#));
        assert!(
            !stuck.is_finished(),
            "hello was answered while stuck's 10 s init was still running"
        );
    }
    let (status, _, body) = stuck.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Sandbox.Timedout"), "{body}");
}

/// A log redirected to a file (or a pipe) is plain text: no terminal colour codes.
#[test]
fn the_log_has_no_colour_codes_off_a_terminal() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lambda-sim"))
        .current_dir(root())
        .env(
            "LAMBDA_SIM_CACHE_DIR",
            root().join("target/lambda-sim-test-cache"),
        )
        .env("RUST_LOG", "info")
        .args([
            "serve",
            "--function",
            "noop=tests/fixtures/noop.wat",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let stderr = std::io::BufReader::new(child.stderr.take().expect("piped"));
    let mut seen = Vec::new();
    for line in stderr.lines().map_while(Result::ok) {
        let done = line.contains("listening");
        seen.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.iter().any(|l| l.contains("INFO")), "{seen:?}");
    assert!(!seen.iter().any(|l| l.contains('\u{1b}')), "{seen:?}");
}

/// The request id of one invocation of `noop` on a fresh `serve` started with `args`.
fn first_request_id(args: &[&str]) -> String {
    let mut all = vec!["--function", "noop=tests/fixtures/noop.wat"];
    all.extend_from_slice(args);
    let server = serve(&all);
    let (status, head, _) = request(
        &server.addr,
        "POST",
        "/2015-03-31/functions/noop/invocations",
        &[],
        b"{}",
    );
    assert_eq!(status, 200, "{head}");
    head.lines()
        .find_map(|l| l.strip_prefix("x-amzn-requestid: "))
        .unwrap_or_else(|| panic!("no x-amzn-requestid in {head}"))
        .trim()
        .to_string()
}

#[test]
fn request_ids_differ_across_restarts_unless_seeded() {
    let (a, b) = (first_request_id(&[]), first_request_id(&[]));
    assert_eq!(a.len(), 36, "{a}");
    assert_ne!(a, b, "two starts handed out the same first request id");
    let (a, b) = (
        first_request_id(&["--seed", "7"]),
        first_request_id(&["--seed", "7"]),
    );
    assert_eq!(a, b, "--seed 7 repeats the ids");
}
