//! The services section of the HTML report, shown only when a run has `[[service]]`s: a table of how each
//! service's calls ended, its peak connections and call latency, per variant; and per service a timeline of the
//! database connections in use (and of calls waiting for a proxy connection, when any waited), one line per
//! variant.

use super::Table;
use super::charts::{self, Curve, PALETTE};
use super::page::{figure, table};
use super::series::{self, TimeUnit, Timeline};
use crate::report::{RunReport, ServiceBucket};

/// Simulated downstream services: per variant and service, how calls ended, connections and call latency.
pub(super) fn services(out: &mut String, variants: &[(String, &RunReport)]) {
    if variants.iter().all(|(_, r)| r.services.is_empty()) {
        return;
    }
    let headers = [
        "variant",
        "service",
        "connections",
        "calls",
        "answered",
        "errors",
        "refused",
        "gave up",
        "peak db connections",
        "calls that waited",
        "p50 ms",
        "p99 ms",
        "max ms",
    ];
    let mut rows = Vec::new();
    for (name, r) in variants {
        for s in &r.services {
            let model = match s.limit {
                Some(n) => format!("{} ({n})", s.connections),
                None => s.connections.to_string(),
            };
            rows.push(vec![
                name.clone(),
                s.name.clone(),
                model,
                s.calls.to_string(),
                s.answered.to_string(),
                s.errors.to_string(),
                s.refused.to_string(),
                s.timed_out.to_string(),
                s.peak_connections.to_string(),
                s.waited_calls.to_string(),
                format!("{:.3}", s.latency_ms.p50),
                format!("{:.3}", s.latency_ms.p99),
                format!("{:.3}", s.latency_ms.max),
            ]);
        }
    }
    out.push_str("<section id=\"services\">\n<h2>Services</h2>\n");
    table(out, &Table::new(&headers, rows));
    out.push_str(
        "<p class=\"meta\">Latency runs from the call to its answer or refusal, waiting for a proxy \
         connection included; refused: no connection; gave up: no proxy connection in time.</p>\n",
    );
    charts_per_service(out, variants);
    out.push_str("</section>\n");
}

/// Per service, the database connections over time (and the calls waiting for one, when any did), one line per
/// variant.
fn charts_per_service(out: &mut String, variants: &[(String, &RunReport)]) {
    let end_ns = variants
        .iter()
        .map(|(_, r)| Timeline::of(r).end_ns)
        .max()
        .unwrap_or(0);
    let unit = TimeUnit::for_span_ns(end_ns);
    let x_max = end_ns as f64 / unit.ns();
    let mut names: Vec<&str> = variants
        .iter()
        .flat_map(|(_, r)| r.services.iter().map(|s| s.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    for service in names {
        let lines: Vec<(String, Timeline<ServiceBucket>)> = variants
            .iter()
            .filter_map(|(name, r)| {
                let s = r.services.iter().find(|s| s.name == service)?;
                Some((
                    name.clone(),
                    Timeline::from_buckets(&s.timeline, r.timeline_bucket_ns.max(1)),
                ))
            })
            .collect();
        let curves = |value: fn(&ServiceBucket) -> f64| -> (Vec<Curve>, f64) {
            let curves: Vec<Curve> = lines
                .iter()
                .enumerate()
                .map(|(i, (name, t))| Curve {
                    name: name.clone(),
                    color: PALETTE[i % PALETTE.len()],
                    points: t.series(unit, value),
                    filled: false,
                })
                .collect();
            let max = lines.iter().map(|(_, t)| t.max(value)).fold(0.0, f64::max);
            (curves, max)
        };
        let step = lines
            .first()
            .map_or(String::new(), |(_, t)| series::duration_label(t.step_ns));
        let (connections, max) = curves(|b| f64::from(b.connections));
        figure(
            out,
            "service-connections",
            None,
            charts::timeline(
                &format!("service {service}: database connections"),
                "connections",
                &connections,
                unit,
                x_max,
                max,
                true,
            ),
            &format!(
                "Service {service}: the most database connections open (per-sandbox) or borrowed from the pool \
                 (proxy) at once in each {step}, per variant."
            ),
        );
        let (waiting, max) = curves(|b| f64::from(b.waiting));
        if max > 0.0 {
            figure(
                out,
                "service-waiting",
                None,
                charts::timeline(
                    &format!("service {service}: calls waiting for a connection"),
                    "calls waiting",
                    &waiting,
                    unit,
                    x_max,
                    max,
                    true,
                ),
                &format!(
                    "Service {service}: the most calls waiting for a proxy connection at once in each {step}, \
                     per variant."
                ),
            );
        }
    }
}
