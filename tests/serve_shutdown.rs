//! `lambda-sim serve` loses nothing and gets stuck on nothing when it shuts down: running invocations end or are cut
//! off with an outcome, queued async events are written out, half-sent requests time out, and the process exits
//! within its stated bound whatever clients do. Also Lambda's answers to malformed Invoke requests.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::serve::{Server, request, serve};

const INVOKE_IO: &str = "/2015-03-31/functions/io/invocations";

fn signal(server: &Server, name: &str) {
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args([name, &pid])
            .status()
            .unwrap()
            .success()
    );
}

/// Waits for the server to exit (at most `limit`, a hang guard far above the bound under test); returns its stdout.
fn wait_exit(server: &mut Server, limit: Duration) -> String {
    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            let mut stdout = String::new();
            server
                .child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut stdout)
                .unwrap();
            return stdout;
        }
        assert!(
            started.elapsed() < limit,
            "serve did not exit within {limit:?} of the signal"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `n` Event invokes of `io` waiting `latency_ms` each, sent over one keep-alive connection.
fn send_events(addr: &str, n: usize, latency_ms: u64) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = format!(r#"{{"calls":1,"latency_ms":{latency_ms}}}"#);
    for _ in 0..n {
        let head = format!(
            "POST {INVOKE_IO} HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Invocation-Type: Event\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        let mut response = [0u8; 512];
        let n = s.read(&mut response).unwrap();
        assert!(
            response[..n].starts_with(b"HTTP/1.1 202"),
            "{}",
            String::from_utf8_lossy(&response[..n])
        );
    }
}

fn report(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn unprocessed(out: &std::path::Path) -> Vec<serde_json::Value> {
    let file = out.join("unprocessed-events/io.jsonl");
    std::fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `serve` of `scenario` writing its JSON report and records into a temporary directory, with this shutdown bound.
struct Run {
    server: Server,
    json: std::path::PathBuf,
    out: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn serve_with_outputs(scenario: &str, shutdown_timeout: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (json, out) = (dir.path().join("r.json"), dir.path().join("out"));
    let server = serve(&[
        scenario,
        "--json",
        json.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--shutdown-timeout",
        shutdown_timeout,
    ]);
    Run {
        server,
        json,
        out,
        _dir: dir,
    }
}

#[test]
fn sigterm_finishes_running_events_and_writes_the_backlog_out() {
    let Run {
        mut server,
        json,
        out,
        _dir,
    } = serve_with_outputs("tests/fixtures/serve-backlog.toml", "20");
    send_events(&server.addr, 60, 1500);
    std::thread::sleep(Duration::from_millis(300));
    signal(&server, "-TERM");
    let stdout = wait_exit(&mut server, Duration::from_secs(60));
    let v = report(&json);
    let a = &v["functions"]["io"]["async_events"];
    // The 4 running when the signal came finished; the rest were never started and are written out.
    let (enqueued, delivered, pending) = (
        a["enqueued"].as_u64().unwrap(),
        a["delivered_first_attempt"].as_u64().unwrap(),
        a["pending_at_end"].as_u64().unwrap(),
    );
    assert_eq!(enqueued, 60, "{a}");
    assert_eq!(delivered + pending, 60, "{a}");
    // Only what was running at the signal finishes (4 at a time, 1.5 s each; on a loaded machine a round or two
    // more may start before the signal lands); the whole backlog would take 22 s, past the bound.
    assert!(
        (4..=16).contains(&delivered),
        "only what was running finishes: {a}"
    );
    assert_eq!(v["conservation"]["ok"], true, "{stdout}");
    assert_eq!(
        v["functions"]["io"]["outcomes"]["success"].as_u64(),
        Some(delivered)
    );
    assert!(
        v["functions"]["io"]["outcomes"]
            .get("cut_at_shutdown")
            .is_none()
    );
    let records = unprocessed(&out);
    assert_eq!(records.len() as u64, pending);
    for r in &records {
        assert_eq!(r["requestContext"]["condition"], "SimulatorShutdown", "{r}");
        assert_eq!(r["requestContext"]["approximateInvokeCount"], 0, "{r}");
        assert_eq!(r["requestPayload"]["latency_ms"], 1500, "{r}");
    }
    assert!(stdout.contains("conservation  arrivals"), "{stdout}");
    assert!(!stdout.contains('✗'), "{stdout}");
    // The header says what ran: real time, for as long as it served (not the scenario's duration).
    // (It may wrap: the seed serve drew for this start is long.)
    let header = stdout
        .lines()
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let header = header.as_str();
    assert!(header.contains(" · realtime · "), "{header}");
    let served: f64 = header
        .split(" · ")
        .find_map(|p| p.split_once(" s simulated").map(|(n, _)| n))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("{header}"));
    assert!(served < 60.0, "{header}");
}

#[test]
fn at_the_bound_running_invocations_are_cut_with_an_outcome() {
    let Run {
        mut server,
        json,
        out,
        _dir,
    } = serve_with_outputs("tests/fixtures/serve-backlog.toml", "1");
    send_events(&server.addr, 20, 8000);
    std::thread::sleep(Duration::from_millis(300));
    signal(&server, "-TERM");
    let stdout = wait_exit(&mut server, Duration::from_secs(30));
    let v = report(&json);
    let f = &v["functions"]["io"];
    // Arrivals are the 4 attempts that ran plus the attempts the reserved concurrency throttled (re-queued).
    assert_eq!(f["outcomes"]["cut_at_shutdown"], 4, "{f}");
    assert_eq!(f["outcomes"]["success"], 0, "{f}");
    assert_eq!(v["conservation"]["ok"], true);
    assert_eq!(f["async_events"]["pending_at_end"], 20);
    // All 20 are written out: 4 with their attempt cut off, 16 never attempted.
    assert_eq!(unprocessed(&out).len(), 20);
    assert!(stdout.contains("4 cut_at_shutdown"), "{stdout}");
}

#[test]
fn a_second_signal_stops_at_once_and_still_accounts_for_everything() {
    let Run {
        mut server,
        json,
        out,
        _dir,
    } = serve_with_outputs("tests/fixtures/serve-backlog.toml", "600");
    send_events(&server.addr, 10, 8000);
    // A synchronous call in flight too.
    let addr = server.addr.clone();
    let sync = std::thread::spawn(move || {
        request(
            &addr,
            "POST",
            INVOKE_IO,
            &[],
            br#"{"calls":1,"latency_ms":8000}"#,
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    signal(&server, "-TERM");
    std::thread::sleep(Duration::from_millis(300));
    signal(&server, "-INT");
    wait_exit(&mut server, Duration::from_secs(30));
    let _ = sync.join();
    let v = report(&json);
    let f = &v["functions"]["io"];
    assert_eq!(v["conservation"]["ok"], true, "{f}");
    // The 4 running (async attempts, and the sync call if it got a slot) are cut; the rest were throttled.
    assert_eq!(f["outcomes"]["cut_at_shutdown"], 4, "{f}");
    assert_eq!(f["outcomes"]["success"], 0, "{f}");
    assert_eq!(unprocessed(&out).len(), 10);
}

#[test]
fn half_sent_requests_neither_hold_the_server_nor_outlive_their_timeouts() {
    let mut server = serve(&[
        "--function",
        "io=functions/io",
        "--header-timeout",
        "1",
        "--body-timeout",
        "1",
        "--shutdown-timeout",
        "2",
    ]);
    let addr = server.addr.clone();
    // Part of a head: closed by the server after the header timeout.
    let mut partial_head = TcpStream::connect(&addr).unwrap();
    partial_head
        .write_all(b"POST /2015-03-31/functions/io/invoc")
        .unwrap();
    partial_head
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = Vec::new();
    let read = partial_head.read_to_end(&mut buf);
    assert!(read.is_ok(), "the server closes the connection: {read:?}");
    // A head and part of its body: 408 after the body timeout.
    let mut partial_body = TcpStream::connect(&addr).unwrap();
    partial_body
        .write_all(
            format!(
                "POST {INVOKE_IO} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{\"calls\":"
            )
            .as_bytes(),
        )
        .unwrap();
    partial_body
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut response = [0u8; 1024];
    let n = partial_body.read(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response[..n]).to_lowercase();
    assert!(text.starts_with("http/1.1 408"), "{text}");
    assert!(
        text.contains("x-amzn-errortype: requesttimeoutexception"),
        "{text}"
    );

    // 100 slowloris connections, a silent one and a half-sent body, then SIGTERM: the server exits anyway.
    let mut held: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"POST /2015-03-31/functions/io/invocations HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    held.push(TcpStream::connect(&addr).unwrap());
    let mut body = TcpStream::connect(&addr).unwrap();
    body.write_all(
        format!("POST {INVOKE_IO} HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{{").as_bytes(),
    )
    .unwrap();
    held.push(body);
    signal(&server, "-TERM");
    wait_exit(&mut server, Duration::from_secs(30));
    drop(held);
}

#[test]
fn malformed_invoke_requests_get_the_exception_lambda_uses() {
    let server = serve(&["--function", "hello=functions/hello"]);
    let a = server.addr.as_str();
    let invoke = "/2015-03-31/functions/hello/invocations";
    let raw = |bytes: &[u8], shut_write: bool| -> String {
        let mut s = TcpStream::connect(a).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(bytes).unwrap();
        if shut_write {
            s.shutdown(std::net::Shutdown::Write).unwrap();
        }
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).to_lowercase()
    };
    // A body cut short by the client.
    let truncated = raw(
        format!("POST {invoke} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{\"name\":")
            .as_bytes(),
        true,
    );
    assert!(truncated.starts_with("http/1.1 400"), "{truncated}");
    assert!(
        truncated.contains("invalidrequestcontentexception"),
        "{truncated}"
    );
    // A bad chunk size.
    let chunked = raw(
        format!("POST {invoke} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n").as_bytes(),
        false,
    );
    assert!(chunked.starts_with("http/1.1 400"), "{chunked}");
    // 7 MB announced, nothing sent: refused at once, not waited for.
    let announced = raw(
        format!("POST {invoke} HTTP/1.1\r\nHost: x\r\nContent-Length: 7340032\r\nConnection: close\r\n\r\n").as_bytes(),
        false,
    );
    assert!(announced.starts_with("http/1.1 413"), "{announced}");
    assert!(
        announced.contains("requestentitytoolargeexception"),
        "{announced}"
    );

    let (status, head, body) = request(a, "POST", invoke, &[], b"{\"name\":\"\xff\xfe\"}");
    assert_eq!(status, 400, "{body}");
    assert!(
        head.contains("x-amzn-errortype: invalidrequestcontentexception"),
        "{head}"
    );
    assert!(
        body.contains("Could not parse request body into json"),
        "{body}"
    );

    let (status, _, body) = request(a, "POST", invoke, &[("X-Amz-Log-Type", "Bogus")], b"{}");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("Value 'Bogus' at 'logType' failed to satisfy constraint"),
        "{body}"
    );

    for context in ["not base64!", "WzEsMl0=" /* [1,2]: not an object */] {
        let (status, head, body) = request(
            a,
            "POST",
            invoke,
            &[("X-Amz-Client-Context", context)],
            b"{}",
        );
        assert_eq!(status, 400, "{context}: {body}");
        assert!(
            head.contains("x-amzn-errortype: invalidrequestcontentexception"),
            "{head}"
        );
        assert!(
            body.contains("Client context must be a valid Base64-encoded JSON object"),
            "{body}"
        );
    }
    // A valid client context and log type are accepted.
    let (status, head, _) = request(
        a,
        "POST",
        invoke,
        &[
            ("X-Amz-Client-Context", "eyJjdXN0b20iOnt9fQ=="),
            ("X-Amz-Log-Type", "None"),
        ],
        b"{}",
    );
    assert_eq!(status, 200);
    assert!(!head.contains("x-amz-log-result"), "{head}");
}

/// Resident memory of a process, KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Keep-alive synchronous invokes of `hello` until `stop`; returns (200s, anything else).
fn steady_client(addr: String, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> (u64, u64) {
    use std::io::{BufRead, BufReader};
    let stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let (mut ok, mut other) = (0, 0);
    let body = br#"{"name":"soak"}"#;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) && ok + other < 200_000 {
        // One write per request: head and body in two would wait on Nagle and delayed ACKs.
        let mut request = format!(
            "POST /2015-03-31/functions/hello/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        writer.write_all(&request).unwrap();
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut response = vec![0; length];
        reader.read_exact(&mut response).unwrap();
        if status.starts_with("HTTP/1.1 200") && response == br#"{"message":"Hello, soak!"}"# {
            ok += 1;
        } else {
            other += 1;
        }
    }
    (ok, other)
}

#[test]
fn soak_then_shutdown_with_everything_in_flight() {
    let Run {
        mut server,
        json,
        out,
        _dir,
    } = serve_with_outputs("tests/fixtures/serve-soak.toml", "10");
    let pid = server.child.id();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (addr, stop) = (server.addr.clone(), stop.clone());
            std::thread::spawn(move || steady_client(addr, stop))
        })
        .collect();
    // Steady load: memory after warm-up stays flat.
    std::thread::sleep(Duration::from_secs(2));
    let warm = rss_kib(pid);
    let mut peak = warm;
    for _ in 0..6 {
        std::thread::sleep(Duration::from_secs(1));
        peak = peak.max(rss_kib(pid));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut other) = (0, 0);
    for c in clients {
        let (o, x) = c.join().unwrap();
        ok += o;
        other += x;
    }
    eprintln!(
        "steady load: {ok} requests answered; serve's resident memory {warm} KiB → peak {peak} KiB"
    );
    assert!(ok > 100, "{ok} answered");
    assert_eq!(other, 0, "no unintended errors under steady load");
    assert!(
        peak < warm + 32 * 1024,
        "memory grew under steady load: {warm} KiB → {peak} KiB"
    );

    // Then: an async backlog, synchronous calls and half-open connections in flight when the signal comes.
    send_events(&server.addr, 40, 3000);
    let syncs: Vec<_> = (0..2)
        .map(|_| {
            let addr = server.addr.clone();
            std::thread::spawn(move || {
                request(
                    &addr,
                    "POST",
                    "/2015-03-31/functions/hello/invocations",
                    &[],
                    b"{}",
                )
            })
        })
        .collect();
    let half_open: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(&server.addr).unwrap();
            s.write_all(b"POST /2015-03-31/functions/hello/invocations HTTP/1.1\r\nContent-Length: 10\r\n\r\n{").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    signal(&server, "-TERM");
    let stdout = wait_exit(&mut server, Duration::from_secs(60));
    for s in syncs {
        let (status, _, _) = s.join().unwrap();
        assert!(
            status == 200 || status == 0,
            "a sync call in flight is answered or its connection closed: {status}"
        );
    }
    drop(half_open);
    let v = report(&json);
    assert_eq!(v["conservation"]["ok"], true, "{stdout}");
    let hello = &v["functions"]["hello"]["outcomes"];
    assert_eq!(
        hello["success"].as_u64().unwrap(),
        v["functions"]["hello"]["arrivals"].as_u64().unwrap(),
        "{hello}"
    );
    let io = &v["functions"]["io"]["async_events"];
    assert_eq!(io["enqueued"], 40);
    let pending = io["pending_at_end"].as_u64().unwrap();
    assert_eq!(unprocessed(&out).len() as u64, pending, "{io}");
    assert!(
        pending >= 24,
        "the backlog was not started after the signal: {io}"
    );
}
