//! The HTML report of the event source examples: SQS buffering (reserved concurrency 10 and 20) and async
//! retries as three variants of one page. The queue chart's depth line is read back from the SVG through its
//! axis labels; the tables are checked against the reports. [`events_page`] also goes through Chromium.

use std::sync::OnceLock;

use lambda_sim::report::RunReport;
use lambda_sim::report::html::{self, HtmlInput};

use super::{attr, figures, page, point_count, run_scenario};

/// Runs of the event source examples: SQS buffering as written (reserved concurrency 10) and with 20, and
/// async retries.
struct EventRuns {
    sqs_10: RunReport,
    sqs_20: RunReport,
    async_retries: RunReport,
}

fn event_runs() -> &'static EventRuns {
    static RUNS: OnceLock<EventRuns> = OnceLock::new();
    RUNS.get_or_init(|| EventRuns {
        sqs_10: run_scenario("scenarios/events/sqs-buffering.toml", |_| {}),
        sqs_20: run_scenario("scenarios/events/sqs-buffering.toml", |s| {
            s.functions[0].reserved_concurrency = Some(20);
            s.event_sources[0].maximum_concurrency = Some(20);
        }),
        async_retries: run_scenario("scenarios/events/async-retries.toml", |_| {}),
    })
}

/// The page of the event source runs as three variants (the async one has no queue), without a table.
pub fn events_page() -> String {
    let EventRuns {
        sqs_10,
        sqs_20,
        async_retries,
    } = event_runs();
    html::render(&HtmlInput {
        title: "event sources".into(),
        variants: vec![
            ("sqs 10".into(), sqs_10),
            ("sqs 20".into(), sqs_20),
            ("async".into(), async_retries),
        ],
        table: None,
        sweep: None,
    })
}

/// The charts of [`events_page`], as [`super::CHARTS`]: three variants, two of them with a queue.
/// Nothing is throttled, so the overlaid timelines are busy, alive, cold starts and p99.
pub const EVENT_CHARTS: [(&str, usize, usize); 7] = [
    ("percentiles-overlay", 1, 3),
    ("percentiles", 3, 2),
    ("environments", 1, 3),
    ("environments-alive", 1, 3),
    ("events", 1, 3),
    ("p99", 1, 3),
    ("queue", 2, 3),
];

/// The `<text>` elements of an SVG: (attributes, content).
fn texts(svg: &str) -> Vec<(&str, &str)> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let open = t.find('>')?;
            let close = t.find("</text>")?;
            Some((&t[..open], t[open + 1..close].trim()))
        })
        .collect()
}

/// The numeric labels of a vertical axis as (value, y px): the left axis's are anchored at their "end", the
/// right axis's at their "start" (legend labels are too, but are not numbers).
fn axis_labels(svg: &str, anchor: &str) -> Vec<(f64, f64)> {
    texts(svg)
        .into_iter()
        .filter(|(a, _)| attr(a, "text-anchor") == Some(anchor))
        .filter_map(|(a, t)| Some((t.parse().ok()?, attr(a, "y")?.parse().ok()?)))
        .collect()
}

/// The data lines (more than four points) drawn in `stroke`, each as its points in px.
fn data_lines(svg: &str, stroke: &str) -> Vec<Vec<(f64, f64)>> {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| attr(p, "stroke") == Some(stroke) && point_count(p) > 4)
        .map(|p| {
            attr(p, "points")
                .unwrap_or("")
                .split_whitespace()
                .map(|xy| {
                    let (x, y) = xy.split_once(',').expect("x,y");
                    (x.parse().expect("x"), y.parse().expect("y"))
                })
                .collect()
        })
        .collect()
}

/// The HTML between `<section id="{id}">` and its end, if the page has the section.
fn section<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let start = html.find(&format!("<section id=\"{id}\">"))?;
    let len = html[start..].find("</section>")?;
    Some(&html[start..start + len])
}

#[test]
fn queue_charts_show_the_spike_filling_the_queue_and_draining() {
    let EventRuns { sqs_10, sqs_20, .. } = event_runs();
    let oldest = |r: &RunReport| {
        r.queues[0]
            .timeline
            .iter()
            .map(|b| b.oldest_age_s)
            .fold(0.0, f64::max)
    };
    for r in [sqs_10, sqs_20] {
        let q = &r.queues[0];
        assert_eq!((q.sent, q.deleted, q.remaining), (5000, 5000, 0));
        assert!(q.peak_depth > 1000, "the spike fills the queue");
    }
    assert!(
        oldest(sqs_20) < oldest(sqs_10),
        "twice the concurrency drains sooner: {} vs {} s",
        oldest(sqs_20),
        oldest(sqs_10)
    );

    let html = events_page();
    assert_eq!(html, events_page(), "same runs, same bytes");
    assert!(!html.contains("chart could not be drawn"));
    let figs = figures(&html);
    let queues: Vec<_> = figs
        .iter()
        .filter(|(tag, _)| attr(tag, "data-chart") == Some("queue"))
        .collect();
    let variants: Vec<_> = queues
        .iter()
        .map(|(tag, _)| attr(tag, "data-variant"))
        .collect();
    assert_eq!(
        variants,
        [Some("sqs 10"), Some("sqs 20")],
        "one queue chart per variant with a queue, none for the async run"
    );
    let mut axes = Vec::new();
    for ((tag, body), r) in queues.iter().zip([sqs_10, sqs_20]) {
        let svg = &body[body.find("<svg ").expect("an SVG")..];
        let left = axis_labels(svg, "end");
        let right = axis_labels(svg, "start");
        let (zero, top) = (left[0], left[left.len() - 1]);
        assert_eq!(zero.0, 0.0, "{tag}: {left:?}");
        // Pixels to messages on the left axis.
        let per_px = (top.0 - zero.0) / (zero.1 - top.1);
        let value = |y: f64| (zero.1 - y) * per_px;
        let depth = data_lines(svg, "#1F77B4");
        assert_eq!(depth.len(), 1, "{tag}: one depth line");
        let depth = &depth[0];
        let peak = depth.iter().map(|p| value(p.1)).fold(0.0, f64::max);
        let peak_depth = r.queues[0].peak_depth as f64;
        assert!(
            peak > 1000.0 && (peak - peak_depth).abs() <= 2.0 * per_px,
            "{tag}: the depth line peaks at {peak} messages, the queue's peak depth is {peak_depth}"
        );
        for (end, p) in [("starts", depth[0]), ("ends", depth[depth.len() - 1])] {
            assert!(
                value(p.1).abs() < per_px,
                "{tag}: depth {end} at 0, not {}",
                value(p.1)
            );
        }
        assert_eq!(data_lines(svg, "#2CA02C").len(), 1, "{tag}: in flight");
        assert_eq!(data_lines(svg, "#D62728").len(), 1, "{tag}: oldest age");
        let age_top = right.last().expect("a right axis").0;
        assert!(
            age_top >= oldest(sqs_10) * 0.8,
            "{tag}: the age axis reaches {age_top} s"
        );
        assert!(svg.contains("oldest message age (s)"));
        axes.push((left, right));
    }
    assert_eq!(axes[0], axes[1], "variants share both axes");

    let table = section(&html, "queues").expect("a queues section");
    let q = &sqs_20.queues[0];
    let row = format!(
        "<tr><td class=\"name\">sqs 20</td><td class=\"name\">orders</td><td>5000</td><td>5000</td>\
         <td>0</td><td>0</td><td>0</td><td>{}</td><td>{}</td><td>10</td><td>10</td><td>{:.3}</td><td>{:.3}</td></tr>",
        q.peak_depth, q.batches, q.message_latency_ms.p50, q.message_latency_ms.p99
    );
    assert!(table.contains(&row), "{row} in\n{table}");
}

#[test]
fn async_outcomes_table_matches_the_report() {
    let EventRuns {
        sqs_10,
        async_retries,
        ..
    } = event_runs();
    assert!(sqs_10.functions[0].async_events.is_none());
    let a = async_retries.functions[0]
        .async_events
        .expect("async events");
    assert!(
        a.delivered_first_attempt > a.delivered_after_retries
            && a.delivered_after_retries > a.failed_retries_exhausted
            && a.failed_retries_exhausted > 0,
        "30 % failures: most succeed at once, some after retries, a few never: {a:?}"
    );
    let html = events_page();
    let table = section(&html, "async").expect("an async section");
    // 16 columns: in two parts, each with the names.
    let row = format!(
        "<tr><td class=\"name\">async</td><td class=\"name\">worker</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td></tr>",
        a.enqueued,
        a.delivered_first_attempt,
        a.delivered_after_retries,
        a.failed_retries_exhausted,
        a.failed_event_age_exceeded,
        a.failed_zero_reserved_concurrency,
        a.pending_at_end,
        a.attempts,
        a.queue_delay_ms.p50,
        a.queue_delay_ms.p99,
    );
    let latency = format!(
        "<tr><td class=\"name\">async</td><td class=\"name\">worker</td><td>{:.3}</td><td>{:.3}</td></tr>",
        a.event_latency_ms.p50, a.event_latency_ms.p99,
    );
    assert!(table.contains(&latency), "{latency} in\n{table}");
    assert!(table.contains(&row), "{row} in\n{table}");
    assert_eq!(
        table.matches("<tr><td").count(),
        2,
        "only the async run's function has Event invocations (a row in each part)"
    );
    for header in ["RetriesExhausted", "EventAgeExceeded", "event latency ms"] {
        assert!(table.contains(header), "{header}");
    }
}

#[test]
fn runs_without_event_sources_have_no_event_source_sections() {
    let html = page();
    assert!(section(&html, "timelines").is_some());
    assert!(section(&html, "queues").is_none() && section(&html, "async").is_none());
    assert!(!html.contains("data-chart=\"queue\""));
    assert!(!html.contains("SQS") && !html.contains("Asynchronous"));
}
