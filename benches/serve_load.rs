//! Load benchmark of `lambda-sim serve` (issue "Live mode"): a bounded loopback load against `hello`, compared in
//! the same process with a minimal HTTP server that returns a constant (axum/hyper, the same stack).
//!
//! - saturation: 64 keep-alive connections sending as fast as they can for 10 s — throughput of each server;
//! - fixed rate: 5,000 req/s open loop for 10 s — p50/p99 latency of each, and the difference (added latency);
//! - soak: 2,000 req/s for 60 s, sampling this process's RSS every 5 s.
//!
//! Run: `cargo bench --bench serve_load` (release). Everything stays on 127.0.0.1 and stops by itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const BODY: &[u8] = br#"{"name":"load"}"#;

/// One keep-alive HTTP/1.1 connection: POST, read status line, headers and a Content-Length body.
struct Conn {
    stream: BufReader<TcpStream>,
    request: Vec<u8>,
    line: String,
    body: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr, path: &str) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).ok();
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            BODY.len()
        )
        .into_bytes();
        request.extend_from_slice(BODY);
        Conn {
            stream: BufReader::new(stream),
            request,
            line: String::new(),
            body: Vec::new(),
        }
    }

    /// Sends one request; returns the HTTP status.
    async fn call(&mut self) -> u16 {
        self.stream
            .get_mut()
            .write_all(&self.request)
            .await
            .expect("write");
        self.line.clear();
        self.stream.read_line(&mut self.line).await.expect("status");
        let status = self
            .line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        loop {
            self.line.clear();
            self.stream.read_line(&mut self.line).await.expect("header");
            let l = self.line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        self.body.resize(len, 0);
        self.stream.read_exact(&mut self.body).await.expect("body");
        status
    }
}

struct Result {
    requests: u64,
    errors: u64,
    latency_us: Histogram<u64>,
    elapsed: Duration,
}

/// Closed loop: `conns` connections, each sending back to back for `duration`.
async fn saturate(
    addr: SocketAddr,
    path: &'static str,
    conns: usize,
    duration: Duration,
) -> Result {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr, path).await;
            let mut h = Histogram::<u64>::new(3).unwrap();
            let mut errors = 0;
            while start.elapsed() < duration {
                let t = Instant::now();
                if c.call().await != 200 {
                    errors += 1;
                }
                h.record(t.elapsed().as_micros() as u64).ok();
            }
            (h, errors)
        }));
    }
    collect(tasks, start).await
}

/// Open loop at `rate` req/s spread over `conns` connections (each sends on its own schedule).
async fn fixed_rate(
    addr: SocketAddr,
    path: &'static str,
    rate: u64,
    conns: usize,
    duration: Duration,
) -> Result {
    let start = Instant::now();
    let per_conn = Duration::from_secs_f64(conns as f64 / rate as f64);
    let mut tasks = Vec::new();
    for i in 0..conns {
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr, path).await;
            let mut h = Histogram::<u64>::new(3).unwrap();
            let mut errors = 0;
            let mut next = start + per_conn.mul_f64(i as f64 / conns as f64);
            while next < start + duration {
                tokio::time::sleep_until(next.into()).await;
                // Latency from the scheduled time: coordinated omission is counted, not hidden.
                if c.call().await != 200 {
                    errors += 1;
                }
                h.record(next.elapsed().as_micros() as u64).ok();
                next += per_conn;
            }
            (h, errors)
        }));
    }
    collect(tasks, start).await
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<(Histogram<u64>, u64)>>,
    start: Instant,
) -> Result {
    let mut latency_us = Histogram::<u64>::new(3).unwrap();
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await.expect("task");
        latency_us.add(&h).ok();
        errors += e;
    }
    Result {
        requests: latency_us.len(),
        errors,
        latency_us,
        elapsed: start.elapsed(),
    }
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn show(name: &str, r: &Result) {
    println!(
        "{name:<34} {:>9.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  errors {}",
        r.requests as f64 / r.elapsed.as_secs_f64(),
        r.latency_us.value_at_quantile(0.5) as f64 / 1000.0,
        r.latency_us.value_at_quantile(0.99) as f64 / 1000.0,
        r.errors
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` and `cargo bench -- --list`: nothing to list.
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        // lambda-sim: `hello` at 1,769 MB (a full vCPU: no CPU-share stretching) and a high concurrency limit.
        let text = "[simulation]\nduration = \"1d\"\n[account]\nconcurrency_limit = 10000\n\
                    [[function]]\nname = \"hello\"\ncode = \"functions/hello\"\nmemory_mb = 1769\n";
        let scenario = lambda_sim::scenario::parse(text, &root.join("bench.toml")).unwrap();
        let deployment =
            lambda_sim::deploy::deploy(&scenario, &lambda_sim::sandbox::CodeCache::in_memory())
                .unwrap();
        let service = lambda_sim::live::LiveService::start(scenario, deployment);
        let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = sim_listener.local_addr().unwrap();
        tokio::spawn(lambda_sim::api::serve(
            service.clone(),
            sim_listener,
            lambda_sim::api::HttpTimeouts::default(),
            std::future::pending(),
            std::future::pending(),
        ));
        // Baseline: the same stack answering a constant.
        let base_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = base_listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/2015-03-31/functions/hello/invocations",
            axum::routing::post(|| async { r#"{"message":"Hello, load!"}"# }),
        );
        tokio::spawn(async move { axum::serve(base_listener, app).await });
        let path = "/2015-03-31/functions/hello/invocations";
        // Warm up both (first request compiles nothing, but creates the first sandbox).
        saturate(sim, path, 8, Duration::from_secs(1)).await;
        saturate(base, path, 8, Duration::from_secs(1)).await;

        println!("== saturation: 64 connections, 10 s");
        let b = saturate(base, path, 64, Duration::from_secs(10)).await;
        show("baseline (constant)", &b);
        let s = saturate(sim, path, 64, Duration::from_secs(10)).await;
        show("lambda-sim serve (hello)", &s);
        println!(
            "throughput ratio: {:.1} %",
            100.0 * (s.requests as f64 / s.elapsed.as_secs_f64())
                / (b.requests as f64 / b.elapsed.as_secs_f64())
        );

        println!("== fixed rate: 5,000 req/s over 50 connections, 10 s");
        let b = fixed_rate(base, path, 5000, 50, Duration::from_secs(10)).await;
        show("baseline (constant)", &b);
        let s = fixed_rate(sim, path, 5000, 50, Duration::from_secs(10)).await;
        show("lambda-sim serve (hello)", &s);
        println!(
            "added latency: p50 {:.3} ms, p99 {:.3} ms",
            (s.latency_us.value_at_quantile(0.5) as f64
                - b.latency_us.value_at_quantile(0.5) as f64)
                / 1000.0,
            (s.latency_us.value_at_quantile(0.99) as f64
                - b.latency_us.value_at_quantile(0.99) as f64)
                / 1000.0
        );

        println!("== soak: 2,000 req/s for 60 s, RSS every 5 s");
        let sampler = tokio::spawn(async {
            let mut samples = Vec::new();
            for _ in 0..13 {
                samples.push(rss_kb());
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            samples
        });
        let soak = fixed_rate(sim, path, 2000, 20, Duration::from_secs(60)).await;
        show("lambda-sim serve (hello), soak", &soak);
        let samples = sampler.await.unwrap();
        println!("RSS KB: {samples:?}");
        let report = service.snapshot();
        let f = report.function("hello").unwrap();
        println!(
            "server-side: {} invocations, {} cold starts, {} throttles, conservation {}",
            f.arrivals,
            f.cold_starts,
            f.throttles.total(),
            report.conservation_ok()
        );
    });
}
