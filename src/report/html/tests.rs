//! Tests of the HTML report: percentile axis and curve, timeline coarsening, escaping, determinism, the
//! document's charts and the event source sections.

use hdrhistogram::Histogram;

use super::series::{self, MAX_STEPS, Timeline};
use super::*;
use crate::metrics::{InvocationSample, PoolState, RunMetrics, StartKind};
use crate::model::Outcome;
use crate::model::{ThrottleCause, ThrottleReason};
use crate::report::{
    AsyncReport, FunctionConfig, Percentiles, QueueBucket, QueueReport, RunInfo, TimelineBucket,
};
use crate::scenario::{Architecture, Mode};

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

/// A run of `seconds` s of one request every 100 ms (10 ms warm, 300 ms cold every 50th), 3 throttles.
fn run(name: &str, seconds: u64) -> RunReport {
    let info = RunInfo {
        name: name.into(),
        seed: 7,
        mode: Mode::Virtual,
        duration_ns: seconds * S,
        not_lambda: Vec::new(),
    };
    let config = FunctionConfig {
        name: "api".into(),
        memory_mb: 128,
        architecture: Architecture::X86_64,
        reserved_concurrency: None,
        provisioned_concurrency: 0,
        provisioned_allocation_delay_ns: 0,
        code_bytes: 1000,
        snapshot: false,
    };
    let mut m = RunMetrics::with_config(info, vec![config]);
    for i in 0..seconds * 10 {
        let t = i * 100 * MS;
        m.arrival(0, t);
        if i % 97 == 3 && i < 300 {
            m.throttled(
                0,
                t,
                ThrottleReason::ConcurrentInvocationLimitExceeded,
                ThrottleCause::Concurrency,
            );
            continue;
        }
        let cold = i % 50 == 0;
        let latency = if cold { 300 * MS } else { (10 + i % 7) * MS };
        if cold {
            m.sandbox_created(0, t, false);
        }
        m.pool_state(
            0,
            t,
            PoolState {
                busy: 1 + (i % 4) as u32,
                idle: 2,
                initializing: 0,
                ..PoolState::default()
            },
        );
        m.invocation(
            0,
            &InvocationSample {
                arrival_ns: t,
                end_ns: t + latency,
                start: if cold {
                    StartKind::Cold
                } else {
                    StartKind::Warm
                },
                parts: cold.then(|| {
                    Box::new(crate::metrics::ColdStartParts {
                        placement_ns: 80 * MS,
                        download_ns: 2 * MS,
                        runtime_ns: 16 * MS,
                    })
                }),
                init_ns: cold.then_some(200 * MS),
                restore_ns: None,
                duration_ns: latency,
                billed_ms: latency.div_ceil(MS),
                outcome: Outcome::Success,
                error_type: None,
                peak_memory_bytes: 1 << 20,
            },
        );
    }
    m.finish(seconds * S + 300 * MS)
}

fn input<'a>(variants: Vec<(String, &'a RunReport)>) -> HtmlInput<'a> {
    HtmlInput {
        title: "Keep-alive <fixed> & \"lambda\"".into(),
        variants,
        table: Some(Table {
            headers: vec!["variant".into(), "p99 ms".into()],
            rows: vec![
                vec!["<script>alert(1)</script>".into(), "12.5".into()],
                vec!["b & c".into(), "13".into()],
            ],
        }),
        sweep: Some(vec![
            SweepPoint {
                label: "memory_mb=128".into(),
                cost_usd: 0.0012,
                p99_ms: 900.0,
                cold_pct: 4.0,
                setting: Some(("memory_mb".into(), 128.0)),
                chosen: false,
            },
            SweepPoint {
                label: "memory_mb=<512>".into(),
                cost_usd: 0.0015,
                p99_ms: 300.0,
                cold_pct: 2.5,
                setting: Some(("memory_mb".into(), 512.0)),
                chosen: true,
            },
        ]),
    }
}

#[test]
fn percentile_axis_labels_count_nines() {
    assert_eq!(series::percentile_label(1.0), "0%");
    assert_eq!(series::percentile_label(10.0), "90%");
    assert_eq!(series::percentile_label(100.0), "99%");
    assert_eq!(series::percentile_label(1000.0), "99.9%");
    assert_eq!(series::percentile_label(1e5), "99.999%");
    assert_eq!(series::percentile_axis_max(5), 100.0);
    assert_eq!(series::percentile_axis_max(1000), 1000.0);
    assert_eq!(series::percentile_axis_max(1001), 10_000.0);
    assert_eq!(
        series::percentile_ticks(1000.0),
        vec![1.0, 10.0, 100.0, 1000.0]
    );
}

#[test]
fn percentile_curve_runs_from_min_to_max_and_is_monotonic() {
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    for v in 1..=1000u64 {
        h.record(v * 1000).unwrap(); // 1..1000 ms in µs
    }
    let x_max = series::percentile_axis_max(h.len());
    let c = series::percentile_curve(&h, 1000.0, x_max);
    assert_eq!(c.first(), Some(&(1.0, 1.0)), "p0 is the minimum, 1 ms");
    assert_eq!(
        c.last(),
        Some(&(1000.0, 1000.0)),
        "the maximum at the right edge"
    );
    for w in c.windows(2) {
        assert!(w[1].0 >= w[0].0 && w[1].1 >= w[0].1, "{w:?}");
    }
    // At x = 10 (p90) the latency is about 900 ms (within a bucket of HdrHistogram's 3 digits).
    let p90 = c
        .iter()
        .find(|p| (p.0 - 10.0).abs() < 1e-6)
        .expect("a point at p90");
    assert!((p90.1 - 900.0).abs() <= 1.5, "{p90:?}");
    assert!(series::percentile_curve(&Histogram::<u64>::new(3).unwrap(), 0.0, 100.0).is_empty());
}

#[test]
fn long_timelines_are_folded_to_bounded_steps_keeping_totals_and_peaks() {
    let buckets: Vec<TimelineBucket> = (0..10_001u64)
        .map(|i| TimelineBucket {
            arrivals: 3,
            cold_starts: i % 2,
            throttles: u64::from(i == 5_000),
            pings: 0,
            max_concurrency: if i == 7_777 { 99 } else { 2 },
            alive: (i % 10) as u32,
            idle: 1,
        })
        .collect();
    let t = Timeline::from_buckets(&buckets, S);
    assert!(t.steps.len() <= MAX_STEPS, "{}", t.steps.len());
    // 11 s would do; steps are nice widths.
    assert_eq!(t.step_ns, 15 * S);
    assert_eq!(t.end_ns, 10_001 * S);
    let cold: u64 = t.steps.iter().map(|s| s.2.cold_starts).sum();
    assert_eq!(cold, 5_000, "counts add up");
    assert_eq!(t.max(|b| b.throttles as f64), 1.0);
    assert_eq!(
        t.max(|b| b.max_concurrency as f64),
        99.0,
        "the peak survives"
    );
    let points = t.series(series::TimeUnit::Seconds, |b| b.alive as f64);
    assert!(points.len() <= 2 * MAX_STEPS);
    assert_eq!(points.last().map(|p| p.0), Some(10_001.0));
    // A short timeline is drawn bucket by bucket.
    let short = Timeline::from_buckets(&buckets[..10], S);
    assert_eq!((short.steps.len(), short.step_ns), (10, S));
}

#[test]
fn text_is_escaped_everywhere() {
    assert_eq!(
        escape("<a href='x'>&\"</a>"),
        "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
    );
    let r = run("unit", 60);
    let html = render(&input(vec![("<b>bold</b>".into(), &r)]));
    assert!(!html.contains("<script>"), "table cells escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        !html.contains("<b>bold</b>"),
        "variant names escaped in HTML and SVG"
    );
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;"));
    assert!(html.contains("<title>Keep-alive &lt;fixed&gt; &amp; &quot;lambda&quot;</title>"));
    assert!(
        html.contains("memory_mb=&lt;512&gt; (chosen)"),
        "sweep labels escaped in the SVG"
    );
}

#[test]
fn document_has_every_chart_with_data_and_no_external_resource() {
    let (a, b) = (run("unit", 60), run("unit", 120));
    let html = render(&input(vec![("a".into(), &a), ("b".into(), &b)]));
    let count = |needle: &str| html.matches(needle).count();
    let throttled = a.total.throttles.total() + b.total.throttles.total() > 0;
    assert_eq!(
        count("<svg "),
        9 + usize::from(throttled),
        "sweep, cold against the setting, overlay, 2 × percentiles; overlaid timelines: busy, alive, cold \
         starts, throttles (if any), p99"
    );
    assert_eq!(count("data-chart=\"sweep\""), 1);
    assert_eq!(count("data-chart=\"sweep-cold\""), 1);
    assert_eq!(count("data-chart=\"percentiles-overlay\""), 1);
    assert_eq!(count("data-chart=\"percentiles\""), 2);
    assert_eq!(count("data-chart=\"environments\""), 1);
    assert_eq!(count("data-chart=\"environments-alive\""), 1);
    assert_eq!(count("data-chart=\"events\""), 1);
    assert_eq!(count("data-chart=\"p99\""), 1);
    assert!(html.contains("Pareto frontier"));
    // With a comparison table, costs per run, per million requests and per month per variant too.
    let comparison = &html[html.find("id=\"comparison\"").expect("comparison")..];
    assert!(comparison.contains("<th>cost per month at this rate</th>"));
    let month = super::functions::per_month(&b.total, &b).expect("a month");
    assert!((month - b.total.cost.total * 30.0 * 86_400.0 / 120.0).abs() < 1e-9);
    assert!(!html.contains("chart could not be drawn"));
    assert!(
        count("<polyline") >= 2 + 3 * 2 + 2 + 2 + 2 + 2,
        "every series drawn"
    );
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "no external resources"
    );
    assert!(!html.contains("<script"));
    assert!(html.contains("<td>b &amp; c</td>"));
    assert!(html.contains("99.9%"), "percentile axis labelled in nines");
    assert!(html.ends_with("</html>\n"));
}

#[test]
fn rendering_is_deterministic() {
    let (a, b) = (run("unit", 60), run("unit", 60));
    let one = render(&input(vec![("a".into(), &a)]));
    let two = render(&input(vec![("a".into(), &b)]));
    assert_eq!(one, two);
}

#[test]
fn without_a_table_a_summary_is_shown_and_without_a_sweep_no_scatter() {
    let r = run("unit", 30);
    let html = render(&HtmlInput {
        title: "plain".into(),
        variants: vec![("baseline".into(), &r)],
        table: None,
        sweep: None,
    });
    assert!(html.contains("<section id=\"summary\">"));
    assert!(html.contains("<td>baseline</td>"));
    assert!(!html.contains("data-chart=\"sweep\""));
    assert!(
        !html.contains("percentiles-overlay"),
        "one variant: no overlay"
    );
    assert_eq!(
        html.matches("<svg ").count(),
        4,
        "percentiles, environments, events, p99"
    );
    // The summary quotes cost per run, per million requests and per month.
    assert!(html.contains("<th>cost per 1M requests</th>"), "{html}");
    assert!(
        !html.contains("id=\"functions\""),
        "one function: no per-function sections"
    );
}

/// `r` with a queue named `queue` that fills to 40 messages over 10 s and drains, and async events on its
/// function.
fn with_event_sources(mut r: RunReport, queue: &str) -> RunReport {
    let timeline: Vec<QueueBucket> = (0..r.total.timeline.len() as u64)
        .map(|i| {
            let depth = if i < 10 {
                4 * i
            } else {
                40u64.saturating_sub(2 * (i - 10))
            };
            QueueBucket {
                sent: if i < 10 { 4 } else { 0 },
                deleted: u64::from((10..30).contains(&i)) * 2,
                depth,
                in_flight: depth.min(3),
                max_depth: depth,
                oldest_age_s: if depth > 0 { i as f64 } else { 0.0 },
            }
        })
        .collect();
    let p = |p50, p99| Percentiles {
        p50,
        p99,
        ..Percentiles::default()
    };
    r.queues.push(QueueReport {
        name: queue.into(),
        sent: 40,
        batches: 20,
        received: 40,
        deleted: 40,
        redriven: 0,
        expired: 0,
        remaining: 0,
        peak_depth: 40,
        batch_size: p(2.0, 2.0),
        message_latency_ms: p(9_000.0, 19_500.0),
        timeline,
    });
    r.functions[0].async_events = Some(AsyncReport {
        enqueued: 100,
        delivered_first_attempt: 70,
        delivered_after_retries: 21,
        failed_retries_exhausted: 3,
        failed_event_age_exceeded: 4,
        failed_zero_reserved_concurrency: 0,
        pending_at_end: 2,
        attempts: 131,
        queue_delay_ms: p(0.5, 1.5),
        event_latency_ms: p(12.0, 120_000.25),
    });
    r
}

#[test]
fn queue_timelines_fold_counts_add_levels_at_the_end_and_peaks_survive() {
    let buckets: Vec<QueueBucket> = (0..2_500u64)
        .map(|i| QueueBucket {
            sent: 1,
            deleted: u64::from(i % 2 == 0),
            depth: i,
            in_flight: i % 3,
            max_depth: if i == 1_234 { 99_999 } else { i },
            oldest_age_s: i as f64 / 2.0,
        })
        .collect();
    let t = Timeline::from_buckets(&buckets, S);
    assert_eq!((t.step_ns, t.steps.len()), (5 * S, 500));
    assert_eq!(t.steps.iter().map(|s| s.2.sent).sum::<u64>(), 2_500);
    assert_eq!(t.steps.iter().map(|s| s.2.deleted).sum::<u64>(), 1_250);
    let first = t.steps[0].2;
    assert_eq!(
        (
            first.depth,
            first.in_flight,
            first.max_depth,
            first.oldest_age_s
        ),
        (4, 1, 4, 2.0),
        "levels at the end of the step"
    );
    assert_eq!(t.max(|b| b.max_depth as f64), 99_999.0);
}

#[test]
fn event_sources_get_a_queue_chart_and_tables_with_escaped_names() {
    let (a, b) = (run("unit", 60), run("unit", 60));
    let (a, b) = (
        with_event_sources(a, "orders<&>"),
        with_event_sources(b, "orders<&>"),
    );
    let html = render(&input(vec![("a".into(), &a), ("b".into(), &b)]));
    assert_eq!(
        html,
        render(&input(vec![("a".into(), &a), ("b".into(), &b)]))
    );
    assert_eq!(html.matches("data-chart=\"queue\"").count(), 2);
    assert!(!html.contains("chart could not be drawn"));
    assert!(
        !html.contains("orders<&>"),
        "queue names escaped in HTML and SVG"
    );
    assert!(html.contains("a: queue orders&lt;&amp;&gt;"));
    assert!(html.contains(
        "<tr><td class=\"name\">b</td><td class=\"name\">orders&lt;&amp;&gt;</td><td>40</td><td>40</td>\
         <td>0</td><td>0</td><td>0</td><td>40</td><td>20</td><td>2</td><td>2</td><td>9000.000</td>\
         <td>19500.000</td></tr>"
    ));
    // 16 columns: in two parts, each with the names.
    assert!(html.contains(
        "<tr><td class=\"name\">a</td><td class=\"name\">api</td><td>100</td><td>70</td><td>21</td>\
         <td>3</td><td>4</td><td>0</td><td>2</td><td>131</td><td>0.500</td><td>1.500</td></tr>"
    ));
    assert!(html.contains(
        "<tr><td class=\"name\">a</td><td class=\"name\">api</td><td>12.000</td><td>120000.250</td></tr>"
    ));
    // Sections follow the timelines, async first.
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(
        at("id=\"timelines\"") < at("id=\"async\"") && at("id=\"async\"") < at("id=\"queues\"")
    );
    assert!(html.contains("oldest message age (right)"));
}

#[test]
fn only_variants_with_a_queue_get_a_queue_chart() {
    let plain = run("unit", 30);
    let queued = with_event_sources(run("unit", 30), "jobs");
    let html = render(&input(vec![
        ("plain".into(), &plain),
        ("queued".into(), &queued),
    ]));
    assert_eq!(html.matches("data-chart=\"queue\"").count(), 1);
    assert!(html.contains("data-chart=\"queue\" data-variant=\"queued\""));
    let alone = render(&input(vec![("plain".into(), &plain)]));
    assert!(!alone.contains("id=\"queues\"") && !alone.contains("id=\"async\""));
    assert_eq!(
        alone.matches("<svg ").count(),
        6,
        "sweep, cold against the setting, percentiles, environments, events, p99"
    );
}

#[test]
fn cold_starts_are_taken_apart_in_a_table_of_their_own() {
    let r = run("base", 60);
    let html = render(&input(vec![("base".into(), &r)]));
    let section = html
        .split("<section id=\"cold-starts\">")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("the cold-start section");
    // 600 requests, every 50th cold but the one throttled (i = 100): 11 cold starts, each piece over the 11.
    for row in [
        "<td>base</td><td>api</td><td>cold start (end to end)</td><td>11</td><td>300.000</td>",
        "<td>base</td><td>api</td><td>placement</td><td>11</td><td>80.000</td>",
        "<td>base</td><td>api</td><td>download</td><td>11</td><td>2.000</td>",
        "<td>base</td><td>api</td><td>init: runtime start-up</td><td>11</td><td>16.000</td>",
        "<td>base</td><td>api</td><td>init: function code</td><td>11</td><td>184.000</td>",
        "<td>base</td><td>api</td><td>invocation</td><td>11</td><td>300.000</td>",
    ] {
        assert!(section.contains(row), "{row} in {section}");
    }
    assert!(
        !section.contains(">restore<"),
        "no snapshot, no restore row"
    );
}

#[test]
fn axis_labels_have_no_dangling_point_and_count_axes_no_fractions() {
    assert_eq!(super::charts::axis_number(2.000_000_1), "2");
    assert_eq!(super::charts::axis_number(2.5), "2.5");
    assert_eq!(super::charts::axis_number(0.125), "0.125");
}

#[test]
fn timelines_fold_into_steps_a_reader_can_name() {
    // 3 hours of 1-second buckets: 10,800 buckets, at most 1,000 steps → 11 s would do; 15 s is what is used.
    let buckets = vec![crate::report::TimelineBucket::default(); 10_800];
    let t = super::series::Timeline::from_buckets(&buckets, 1_000_000_000);
    assert_eq!(t.step_ns, 15_000_000_000);
    assert_eq!(super::series::duration_label(t.step_ns), "15 s");
    let short = super::series::Timeline::from_buckets(&buckets[..300], 1_000_000_000);
    assert_eq!(short.step_ns, 1_000_000_000);
}

#[test]
fn the_pareto_frontier_keeps_the_points_nothing_beats() {
    use super::charts::{SweepDot, pareto_frontier};
    let dot = |label, cost_usd, p99_ms| SweepDot {
        label,
        cost_usd,
        p99_ms,
        chosen: false,
    };
    let dots = [
        dot("a", 1.0, 900.0),
        dot("b", 2.0, 500.0),
        dot("c", 2.5, 700.0), // dearer and slower than b
        dot("d", 4.0, 300.0),
        dot("e", 5.0, 300.0), // dearer than d, no faster
    ];
    let refs: Vec<&SweepDot> = dots.iter().collect();
    let labels: Vec<&str> = pareto_frontier(&refs).iter().map(|d| d.label).collect();
    assert_eq!(labels, ["a", "b", "d"]);
}

#[test]
fn a_wide_comparison_table_is_split_into_parts_that_keep_the_name_column() {
    let headers: Vec<String> = std::iter::once("variant".to_string())
        .chain((1..=14).map(|i| format!("c{i}")))
        .collect();
    let row: Vec<String> = std::iter::once("base".to_string())
        .chain((1..=14).map(|i| i.to_string()))
        .collect();
    let r = run("unit", 30);
    let html = render(&HtmlInput {
        title: "wide".into(),
        variants: vec![("base".into(), &r)],
        table: Some(Table {
            headers,
            rows: vec![row],
        }),
        sweep: None,
    });
    let comparison = &html[html.find("id=\"comparison\"").expect("comparison")..];
    let comparison = &comparison[..comparison.find("</section>").expect("end")];
    // Two parts of the comparison, then the cost table.
    assert_eq!(comparison.matches("<table>").count(), 3);
    assert_eq!(comparison.matches("<th>variant</th>").count(), 3);
    assert!(
        comparison.contains("<th>c7</th></tr>")
            && comparison.contains("<th>variant</th><th>c8</th>")
    );
}

#[test]
fn several_functions_get_a_collapsible_section_each_with_their_own_figures() {
    let mut r = run("unit", 30);
    let mut worker = r.functions[0].clone();
    worker.name = "worker <2>".into();
    worker.cost.total = 0.5;
    r.functions.push(worker);
    let html = render(&HtmlInput {
        title: "two".into(),
        variants: vec![("baseline".into(), &r)],
        table: None,
        sweep: None,
    });
    let section = &html[html
        .find("<section id=\"functions\">")
        .expect("per-function section")..];
    let section = &section[..section.find("</section>").expect("end")];
    assert_eq!(section.matches("<details class=\"function\"").count(), 2);
    assert!(section.contains("data-function=\"api\""));
    assert!(section.contains("<b>worker &lt;2&gt;</b>"), "names escaped");
    // Each has its percentiles, outcomes, throttles by Reason (api was throttled) and cost.
    assert_eq!(section.matches("<th>p99.9 ms</th>").count(), 2);
    assert_eq!(section.matches("<th>success</th>").count(), 2);
    assert!(section.contains("<td>ConcurrentInvocationLimitExceeded</td>"));
    assert_eq!(
        section.matches("<th>per month at this rate</th>").count(),
        2
    );
    // $0.5 for 30 s of traffic: $43,200 a 30-day month.
    assert!(section.contains("<td>$43200.00</td>"), "{section}");
    assert!(!section.contains("<script"), "opens without script");
}

#[test]
fn warmer_pings_are_marked_on_the_timeline() {
    let mut r = run("unit", 30);
    for b in r.total.timeline.iter_mut().step_by(5) {
        b.pings = 1;
    }
    let html = render(&HtmlInput {
        title: "warmed".into(),
        variants: vec![("warmed".into(), &r)],
        table: None,
        sweep: None,
    });
    let events = &html[html.find("data-chart=\"events\"").expect("events chart")..];
    let events = &events[..events.find("</figure>").expect("end")];
    // The legend entry (the caption says "warmer&#39;s pings").
    assert!(events.contains("warmer pings"), "{events}");
    assert!(events.contains("and the warmer&#39;s pings (not traffic)"));
    let plain = render(&input(vec![("plain".into(), &run("unit", 30))]));
    assert!(!plain.contains("warmer pings"));
}
