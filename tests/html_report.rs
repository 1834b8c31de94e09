//! The HTML report of two real virtual-time runs (the same traffic, keep-alive 10 s against 10 min), and of the
//! event source examples (SQS buffering at two concurrencies, async retries): structure and data checked in
//! Rust, then the pages opened in headless Chromium to check every chart is laid out with a non-zero size and
//! drawn lines and text, and no table is wider than the page. Every example scenario's report, as
//! `lambda-sim run --html` writes it, gets the same layout check.
//!
//! Chromium is Debian's `chromium` (`.ci/run` installs it). Without it the browser test fails when `CI=true`
//! and is skipped with a notice otherwise. `CHROMIUM=/path` picks another binary. Set
//! `LAMBDA_SIM_HTML_REPORT_OUT=DIR` to keep the pages and 1200×1600 screenshots of them in DIR (`report.*`,
//! `events.*`).

mod common;
#[path = "html_report/events.rs"]
mod events;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use lambda_sim::lab::LabRun;
use lambda_sim::lab::compare::Comparison;
use lambda_sim::report::RunReport;
use lambda_sim::report::html::{self, HtmlInput, SweepPoint, Table};
use lambda_sim::scenario::{KeepAlivePolicy, Scenario};
use lambda_sim::sim::{RunOptions, run_virtual};

const S: u64 = 1_000_000_000;

/// Runs the fixture scenario with a fixed keep-alive of `keep_alive_s` seconds and `memory_mb`.
fn run(keep_alive_s: u64, memory_mb: u64) -> RunReport {
    run_scenario("tests/fixtures/html-report.toml", |scenario| {
        scenario.functions[0].keep_alive = KeepAlivePolicy::Fixed {
            idle_ns: keep_alive_s * S,
        };
        scenario.functions[0].memory_mb = memory_mb;
    })
}

/// Runs the scenario at `path` (from the crate root) in virtual time, changed by `edit`.
fn run_scenario(path: &str, edit: impl FnOnce(&mut Scenario)) -> RunReport {
    let mut scenario = lambda_sim::scenario::load(&root().join(path)).expect("scenario loads");
    edit(&mut scenario);
    let cache = test_cache();
    let deployment = lambda_sim::deploy::deploy(&scenario, &cache).expect("deploys");
    let report = run_virtual(&scenario, &deployment, &RunOptions::default()).expect("runs");
    assert!(report.conservation_ok());
    report
}

/// The memory sizes of the sweep (keep-alive 10 s); 256 MB is the first variant's run.
const SWEEP_MB: [u64; 3] = [128, 1024, 1769];

struct Runs {
    /// Keep-alive 10 s and 10 min, 256 MB.
    short: RunReport,
    long: RunReport,
    /// Keep-alive 10 s at each of [`SWEEP_MB`].
    sweep: Vec<RunReport>,
}

/// The runs, made once for all tests.
fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| Runs {
        short: run(10, 256),
        long: run(600, 256),
        sweep: SWEEP_MB.iter().map(|&mb| run(10, mb)).collect(),
    })
}

/// The report as the CLI would make it for a two-variant run, plus the scatter of a memory sweep (the optimum
/// here: the smallest cost × p99, a stand-in for the sweep's strategies).
fn page() -> String {
    let Runs { short, long, sweep } = runs();
    let mut points: Vec<SweepPoint> = std::iter::once((256, short))
        .chain(SWEEP_MB.iter().copied().zip(sweep))
        .map(|(mb, r)| SweepPoint {
            label: format!("memory_mb={mb}"),
            cost_usd: r.total.cost.total,
            p99_ms: r.total.latency.all.p99,
            cold_pct: r.total.cold_start_ratio() * 100.0,
            setting: Some(("memory_mb".into(), mb as f64)),
            chosen: false,
        })
        .collect();
    let best = (0..points.len())
        .min_by(|&a, &b| {
            let score = |p: &SweepPoint| p.cost_usd * p.p99_ms;
            score(&points[a]).total_cmp(&score(&points[b]))
        })
        .expect("points");
    points[best].chosen = true;
    html::render(&HtmlInput {
        title: "html-report: keep-alive 10 s vs 10 min".into(),
        variants: vec![
            ("keep-alive 10s".into(), short),
            ("keep-alive 10m".into(), long),
        ],
        // The comparison table as `run` makes it for variants: 15 columns, which must fit the page.
        table: Some({
            let runs =
                [("keep-alive 10s", short), ("keep-alive 10m", long)].map(|(name, r)| LabRun {
                    name: name.into(),
                    overrides: Vec::new(),
                    report: r.clone(),
                });
            let t = Comparison::new(&runs).table();
            Table {
                headers: t.headers,
                rows: t.rows,
            }
        }),
        sweep: Some(points),
    })
}

/// The charts the page must have: (data-chart kind, how many, fewest drawn data lines in each). Two variants:
/// their timelines are overlaid (busy, alive, cold starts, throttles, p99: a line per variant).
const CHARTS: [(&str, usize, usize); 9] = [
    ("sweep", 1, 0),
    ("sweep-cold", 1, 0),
    ("percentiles-overlay", 1, 2),
    ("percentiles", 2, 3),
    ("environments", 1, 2),
    ("environments-alive", 1, 2),
    ("events", 1, 2),
    ("throttles", 1, 2),
    ("p99", 1, 2),
];

/// The `<figure …>` opening tags of the charts, each with its content up to `</figure>`.
fn figures(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<figure ") {
        let tag_end = i + rest[i..].find('>').expect("tag closes");
        let end = i + rest[i..].find("</figure>").expect("figure closes");
        out.push((
            rest[i..=tag_end].to_string(),
            rest[tag_end + 1..end].to_string(),
        ));
        rest = &rest[end..];
    }
    out
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    Some(&tag[i..i + tag[i..].find('"')?])
}

/// Number of points in a `points="x,y x,y …"` attribute.
fn point_count(polyline: &str) -> usize {
    attr(polyline, "points").map_or(0, |p| p.split_whitespace().count())
}

#[test]
fn the_runs_differ_as_the_charts_should_show() {
    let Runs { short, long, sweep } = runs();
    let (s, l) = (&short.total, &long.total);
    assert!(
        s.cold_starts > l.cold_starts,
        "a 10 s keep-alive loses the environments in the quiet minute: {} vs {} cold starts",
        s.cold_starts,
        l.cold_starts
    );
    assert!(
        s.throttles.total() > 0 && l.throttles.total() > 0,
        "the spike is throttled"
    );
    assert_eq!(
        s.peak_concurrency, 20,
        "reserved concurrency caps the spike"
    );
    assert!(
        s.timeline.iter().any(|b| b.idle > 0),
        "environments sit idle"
    );
    let cost: Vec<f64> = sweep.iter().map(|r| r.total.cost.total).collect();
    assert!(
        cost.windows(2).all(|w| w[0] < w[1]),
        "an I/O-bound handler costs more with more memory: {cost:?}"
    );
}

#[test]
fn page_has_every_chart_with_data_and_nothing_external() {
    let html = page();
    assert_eq!(html, page(), "same runs, same bytes");
    let figs = figures(&html);
    for (kind, n, min_lines) in CHARTS {
        let of_kind: Vec<_> = figs
            .iter()
            .filter(|(tag, _)| attr(tag, "data-chart") == Some(kind))
            .collect();
        assert_eq!(of_kind.len(), n, "{kind} charts");
        for (tag, body) in of_kind {
            assert_eq!(body.matches("<svg ").count(), 1, "{tag}: one inline SVG");
            let svg = &body[body.find("<svg ").unwrap()..];
            assert!(attr(svg, "width").is_some_and(|w| w != "0"), "{tag}");
            // Data lines have many points; axes and ticks have two.
            let lines = svg
                .split("<polyline")
                .skip(1)
                .filter(|p| point_count(p) > 4)
                .count();
            assert!(
                lines >= min_lines,
                "{tag}: {lines} data lines, want ≥ {min_lines}"
            );
            assert!(svg.contains("<text"), "{tag}: labelled");
        }
    }
    let sweep = &figs
        .iter()
        .find(|(t, _)| t.contains("\"sweep\""))
        .unwrap()
        .1;
    assert!(
        sweep.matches("<circle").count() >= 5,
        "four points and the chosen mark"
    );
    assert_eq!(sweep.matches(" (chosen)").count(), 1, "one optimum marked");
    assert!(sweep.contains("memory_mb=1769"));
    assert!(html.contains("<td>keep-alive 10s</td>"), "comparison table");
    assert!(
        html.contains("<th>cost $</th>"),
        "the comparison's cost column"
    );
    for bad in [
        "src=", "href=", "url(", "<script", "<link", "<img", "@import",
    ] {
        assert!(
            !html.contains(bad),
            "no external resource or script: found {bad}"
        );
    }
}

/// Measures every chart after layout and writes the result into the DOM, for `--dump-dom` to show.
const CHECK_SCRIPT: &str = r#"<script>
for (const f of document.querySelectorAll('figure.chart')) {
  const svg = f.querySelector('svg');
  let info = 'missing';
  if (svg) {
    const r = svg.getBoundingClientRect();
    let lines = 0;
    for (const p of svg.querySelectorAll('polyline')) {
      const b = p.getBBox();
      if (p.points.numberOfItems > 4 && b.width > 0) lines++;
    }
    let texts = 0;
    for (const t of svg.querySelectorAll('text')) if (t.getComputedTextLength() > 0) texts++;
    info = Math.round(r.width) + 'x' + Math.round(r.height) + ' lines=' + lines + ' texts=' + texts;
  }
  f.setAttribute('data-rendered', info);
}
// Tables wider than the page (hidden behind a horizontal scroll).
let wide = 0;
for (const w of document.querySelectorAll('.table-wrap')) if (w.scrollWidth > w.clientWidth + 1) wide++;
document.body.setAttribute('data-wide-tables', String(wide));
document.body.setAttribute('data-checked', 'yes');
</script>
"#;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `page` with extra `args`; returns its stdout. Fails after two minutes.
fn headless(browser: &Path, work: &Path, args: &[&str], page: &Path) -> String {
    // Output goes to files: a pipe nobody reads while waiting would fill up and stall the browser.
    let (out_path, err_path) = (work.join("stdout.txt"), work.join("stderr.txt"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox", // root in CI; the page is our own local file
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.join("profile").display()
        ))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within 120 s:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "chromium failed: {status}\n{}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    std::fs::read_to_string(&out_path).expect("chromium output")
}

/// Chromium, or `None` (outside CI) after saying the check is skipped; under `CI=true` its absence fails.
fn chromium_or_skip() -> Option<PathBuf> {
    let browser = chromium();
    if browser.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "chromium is not installed: `.ci/run` installs Debian's `chromium` (apt-get install -y chromium)"
            );
        }
        eprintln!(
            "NOTICE: skipping the headless Chromium check: no chromium on PATH (apt-get install chromium)"
        );
    }
    browser
}

/// Every example scenario's report, as `lambda-sim run --html` writes it, lays out in Chromium: every chart with
/// a size, drawn lines and labels, and no table wider than the page.
#[test]
fn every_example_report_renders_in_headless_chromium() {
    let Some(browser) = chromium_or_skip() else {
        return;
    };
    let mut examples: Vec<PathBuf> = ["scenarios", "scenarios/mitigations", "scenarios/events"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root().join(dir)).expect("examples"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 15, "{examples:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    // Two at a time: the machine's cores.
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some(example) =
                    examples.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    let html = dir.path().join(example_name(example));
                    let out = Command::new(env!("CARGO_BIN_EXE_lambda-sim"))
                        .current_dir(root())
                        .env(
                            "LAMBDA_SIM_CACHE_DIR",
                            root().join("target/lambda-sim-test-cache"),
                        )
                        .arg("run")
                        .arg("-q")
                        .arg(example)
                        .arg("--html")
                        .arg(&html)
                        .arg("--out")
                        .arg(dir.path().join("out"))
                        .output()
                        .expect("lambda-sim runs");
                    assert!(
                        out.status.success(),
                        "{}: {}",
                        example.display(),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });
    for example in &examples {
        let name = example_name(example);
        let html = std::fs::read_to_string(dir.path().join(&name)).expect("report written");
        check_in_chromium(
            &browser,
            dir.path(),
            name.trim_end_matches(".html"),
            &html,
            None,
        );
    }
}

/// `scenarios/events/sqs-buffering.toml` → `events-sqs-buffering.html`.
fn example_name(path: &Path) -> String {
    let rel = path.strip_prefix(root().join("scenarios")).unwrap_or(path);
    format!(
        "{}.html",
        rel.with_extension("").to_string_lossy().replace('/', "-")
    )
}

#[test]
fn page_renders_in_headless_chromium() {
    let Some(browser) = chromium_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    check_in_chromium(&browser, dir.path(), "report", &page(), Some(&CHARTS));
    check_in_chromium(
        &browser,
        dir.path(),
        "events",
        &events::events_page(),
        Some(&events::EVENT_CHARTS),
    );
}

/// Opens `html` in headless Chromium: every chart is laid out with text (and, given `charts`, there are
/// exactly those charts, with at least their drawn lines), no table is wider than the page, and (given `charts`)
/// a screenshot is a PNG with something on it. Keeps `{name}.html` and `{name}.png` in
/// `LAMBDA_SIM_HTML_REPORT_OUT` if set.
fn check_in_chromium(
    browser: &Path,
    dir: &Path,
    name: &str,
    html: &str,
    charts: Option<&[(&str, usize, usize)]>,
) {
    let report = dir.join(format!("{name}.html"));
    std::fs::write(&report, html).expect("writes");
    let checked = dir.join(format!("{name}-checked.html"));
    std::fs::write(
        &checked,
        html.replace("</body>", &format!("{CHECK_SCRIPT}</body>")),
    )
    .expect("writes");

    // The window of the screenshots: the page is laid out for up to 1,140 px.
    let dom = headless(
        browser,
        dir,
        &["--dump-dom", "--window-size=1200,1600"],
        &checked,
    );
    assert!(
        dom.contains("data-checked=\"yes\""),
        "{name}: the check ran:\n{}",
        &dom[..dom.len().min(2000)]
    );
    assert!(
        dom.contains("data-wide-tables=\"0\""),
        "{name}: every table fits the page"
    );
    let figs = figures(&dom);
    assert!(!figs.is_empty(), "{name}: charts in the DOM");
    if let Some(charts) = charts {
        assert_eq!(
            figs.len(),
            charts.iter().map(|c| c.1).sum::<usize>(),
            "{name}: every chart in the DOM"
        );
    }
    for (tag, _) in &figs {
        let kind = attr(tag, "data-chart").expect("kind");
        let rendered = attr(tag, "data-rendered").unwrap_or("none");
        let min_lines = match charts {
            Some(charts) => charts.iter().find(|c| c.0 == kind).expect("known kind").2,
            None => 0,
        };
        let nums: Vec<u64> = rendered
            .split(['x', ' ', '='])
            .filter_map(|s| s.parse().ok())
            .collect();
        let [w, h, lines, texts] = nums[..] else {
            panic!("{name}: {tag}: rendered as {rendered}");
        };
        assert!(w >= 300 && h >= 150, "{name}: {kind}: laid out {w}×{h}");
        assert!(
            lines >= min_lines as u64,
            "{name}: {kind}: {lines} drawn data lines, want ≥ {min_lines}"
        );
        assert!(
            texts >= 8,
            "{name}: {kind}: {texts} labels with a width (fonts rendered)"
        );
    }

    if charts.is_none() {
        return;
    }
    let shot = dir.join(format!("{name}.png"));
    headless(
        browser,
        dir,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600",
        ],
        &report,
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: a PNG");
    assert!(
        png.len() > 20_000,
        "{name}: charts drawn, not a blank page: {} bytes",
        png.len()
    );

    if let Some(out) = std::env::var_os("LAMBDA_SIM_HTML_REPORT_OUT") {
        let out = PathBuf::from(out);
        std::fs::create_dir_all(&out).expect("output dir");
        std::fs::copy(&report, out.join(format!("{name}.html"))).expect("copies");
        std::fs::copy(&shot, out.join(format!("{name}.png"))).expect("copies");
    }
}
