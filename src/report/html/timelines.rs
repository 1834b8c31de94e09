//! The timelines section: execution environments, cold starts and throttles, and p99 latency over the run. One
//! run gets its own charts; several variants are overlaid, one line per variant, so a dozen variants are a few
//! charts to compare rather than a dozen near-identical ones stacked.

use std::fmt::Write;

use super::charts::{self, Curve, PALETTE};
use super::page::figure;
use super::series::{self, TimeUnit, Timeline};
use crate::report::RunReport;

pub(super) fn timelines(out: &mut String, variants: &[(String, &RunReport)]) {
    out.push_str("<section id=\"timelines\">\n<h2>Timelines</h2>\n");
    let lines: Vec<Timeline> = variants.iter().map(|(_, r)| Timeline::of(r)).collect();
    let end_ns = lines.iter().map(|t| t.end_ns).max().unwrap_or(0);
    let unit = TimeUnit::for_span_ns(end_ns);
    let x_max = end_ns as f64 / unit.ns();
    let step = lines.first().map_or(1_000_000_000, |t| t.step_ns);
    let per = series::duration_label(step);
    if variants.len() == 1 {
        let ((name, r), t) = (&variants[0], &lines[0]);
        one_run(out, name, t, unit, x_max, &per);
        p99(out, &[(name.clone(), *r)], unit, x_max);
    } else {
        overlaid(out, variants, &lines, unit, x_max, &per);
        p99(out, variants, unit, x_max);
    }
    out.push_str("</section>\n");
}

/// One run: its environments (alive, idle, busy) and its cold starts and throttles.
fn one_run(out: &mut String, name: &str, t: &Timeline, unit: TimeUnit, x_max: f64, per: &str) {
    let env_max = t
        .max(|b| b.max_concurrency as f64)
        .max(t.max(|b| b.alive as f64))
        .max(t.max(|b| b.idle as f64));
    let env = [
        curve(
            "alive",
            charts::ORANGE,
            t.series(unit, |b| b.alive as f64),
            true,
        ),
        curve(
            "idle",
            charts::GREY,
            t.series(unit, |b| b.idle as f64),
            false,
        ),
        curve(
            "busy (highest)",
            charts::BLUE,
            t.series(unit, |b| b.max_concurrency as f64),
            false,
        ),
    ];
    figure(
        out,
        "environments",
        Some(name),
        charts::timeline(
            &format!("{name}: execution environments"),
            "environments",
            &env,
            unit,
            x_max,
            env_max,
            true,
        ),
        &format!(
            "{name}: per {per}, the most environments busy at once (concurrency), and the environments alive \
             (busy, idle or initializing) and idle at the end of the {per}."
        ),
    );
    let pings = t.max(|b| b.pings as f64);
    let events_max = t
        .max(|b| b.cold_starts as f64)
        .max(t.max(|b| b.throttles as f64))
        .max(pings);
    // Throttles first: cold starts (usually fewer) are drawn over them; warmer pings, when there are any, are
    // marked so their cold starts can be told from traffic's.
    let mut events = vec![
        curve(
            "throttles",
            charts::PURPLE,
            t.series(unit, |b| b.throttles as f64),
            false,
        ),
        curve(
            "cold starts",
            charts::RED,
            t.series(unit, |b| b.cold_starts as f64),
            false,
        ),
    ];
    if pings > 0.0 {
        events.push(curve(
            "warmer pings",
            charts::GREEN,
            t.series(unit, |b| b.pings as f64),
            false,
        ));
    }
    figure(
        out,
        "events",
        Some(name),
        charts::timeline(
            &format!("{name}: cold starts and throttles per {per}"),
            &format!("per {per}"),
            &events,
            unit,
            x_max,
            events_max,
            true,
        ),
        &format!(
            "{name}: cold starts (by request arrival) and throttled requests (429) in each {per}{}.",
            if pings > 0.0 {
                ", and the warmer's pings (not traffic)"
            } else {
                ""
            }
        ),
    );
}

/// An overlaid chart: its kind, title, y axis, what a step shows, and the measure.
type Overlay = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    fn(&crate::report::TimelineBucket) -> f64,
);

/// Several variants: one chart per measure, one line per variant.
fn overlaid(
    out: &mut String,
    variants: &[(String, &RunReport)],
    lines: &[Timeline],
    unit: TimeUnit,
    x_max: f64,
    per: &str,
) {
    let each = |value: fn(&crate::report::TimelineBucket) -> f64| -> (Vec<Curve>, f64) {
        let curves = variants
            .iter()
            .zip(lines)
            .enumerate()
            .map(|(i, ((name, _), t))| {
                curve(
                    name,
                    PALETTE[i % PALETTE.len()],
                    t.series(unit, value),
                    false,
                )
            })
            .collect();
        let max = lines.iter().map(|t| t.max(value)).fold(0.0, f64::max);
        (curves, max)
    };
    let charts_: [Overlay; 5] = [
        (
            "environments",
            "Busy execution environments (highest), every variant",
            "environments",
            "the most environments busy at once (concurrency)",
            |b| b.max_concurrency as f64,
        ),
        (
            "environments-alive",
            "Execution environments alive, every variant",
            "environments",
            "the environments alive (busy, idle or initializing) at its end — what keep-alive and provisioned \
             concurrency hold",
            |b| b.alive as f64,
        ),
        (
            "events",
            "Cold starts, every variant",
            "cold starts",
            "the cold starts (by request arrival)",
            |b| b.cold_starts as f64,
        ),
        (
            "throttles",
            "Throttles, every variant",
            "throttles",
            "the throttled requests (429)",
            |b| b.throttles as f64,
        ),
        (
            "pings",
            "Warmer pings, every variant",
            "pings",
            "the warmer's pings sent (not traffic)",
            |b| b.pings as f64,
        ),
    ];
    for (kind, title, y, what, value) in charts_ {
        let (curves, max) = each(value);
        if kind == "throttles" && max == 0.0 {
            let _ = writeln!(out, "<p>No variant throttled a request.</p>");
            continue;
        }
        if kind == "pings" && max == 0.0 {
            continue;
        }
        figure(
            out,
            kind,
            None,
            charts::timeline(
                &format!("{title}, per {per}"),
                &format!("{y} per {per}"),
                &curves,
                unit,
                x_max,
                max,
                true,
            ),
            &format!("Per {per}, {what}; one line per variant."),
        );
    }
}

/// p99 latency of the invocations that ended in each interval of the run, per variant: a spike's effect, which
/// whole-run percentiles hide.
fn p99(out: &mut String, variants: &[(String, &RunReport)], unit: TimeUnit, x_max: f64) {
    let mut y_max: f64 = 0.0;
    let mut step_ns = 0;
    let curves: Vec<Curve> = variants
        .iter()
        .enumerate()
        .map(|(i, (name, r))| {
            let width = r.hlog_interval_ns.max(1);
            step_ns = step_ns.max(width);
            let mut points = Vec::new();
            for (k, h) in r.total.intervals.iter().enumerate() {
                let Some(h) = h.as_ref().filter(|h| !h.is_empty()) else {
                    continue;
                };
                let v = (h.value_at_quantile(0.99) as f64 / 1000.0).min(r.total.latency.all.max);
                let start = (k as u64 * width) as f64 / unit.ns();
                points.push((start, v));
                points.push((start + width as f64 / unit.ns(), v));
                y_max = y_max.max(v);
            }
            let label = if variants.len() == 1 {
                "p99".to_string()
            } else {
                name.clone()
            };
            let color = if variants.len() == 1 {
                charts::BLUE
            } else {
                PALETTE[i % PALETTE.len()]
            };
            curve(&label, color, points, false)
        })
        .collect();
    let per = series::duration_label(step_ns);
    let title = match variants {
        [(name, _)] => format!("{name}: p99 latency per {per}"),
        _ => format!("p99 latency per {per}, every variant"),
    };
    figure(
        out,
        "p99",
        (variants.len() == 1).then(|| variants[0].0.as_str()),
        charts::timeline(
            &title,
            "p99 latency (ms)",
            &curves,
            unit,
            x_max,
            y_max,
            false,
        ),
        &format!(
            "p99 end-to-end latency of the invocations that ended in each {per} (no line where none ended)."
        ),
    );
}

fn curve(
    name: &str,
    color: plotters::style::RGBColor,
    points: Vec<(f64, f64)>,
    filled: bool,
) -> Curve {
    Curve {
        name: name.to_string(),
        color,
        points,
        filled,
    }
}
