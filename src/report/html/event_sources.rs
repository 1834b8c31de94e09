//! The sections of event sources, shown only when a run has them: a table of asynchronous (`Event`)
//! invocation outcomes per function, and per SQS queue a table row and a timeline of its depth, messages in
//! flight and the age of its oldest message.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::charts::{self, Axis, Curve};
use super::escape;
use super::page::figure;
use super::series::{self, TimeUnit, Timeline};
use crate::report::{Percentiles, QueueBucket, RunReport};

/// A table whose header has two rows: each group either one column (its name spans both rows) or a name over
/// several columns. The first `names` cells of a row are names (left-aligned), the rest numbers.
struct GroupedTable<'a> {
    groups: &'a [(&'a str, &'a [&'a str])],
    names: usize,
    rows: Vec<Vec<String>>,
}

/// Most columns of one part of a grouped table: their numbers are short, so more fit than in a plain table.
const MAX_GROUPED_COLUMNS: usize = 13;

impl GroupedTable<'_> {
    /// Writes the table; one of more than [`MAX_GROUPED_COLUMNS`] columns goes in parts, whole groups each, every
    /// part repeating the name columns, so it fits the page.
    fn write(&self, out: &mut String) {
        let max = MAX_GROUPED_COLUMNS.max(self.names + 1);
        let width = |g: &(&str, &[&str])| g.1.len().max(1);
        // Groups after the leading name columns, and where each one's cells start in a row.
        let (names, data) = self.groups.split_at(self.names.min(self.groups.len()));
        let mut parts: Vec<Vec<(usize, usize)>> = vec![Vec::new()];
        let (mut used, mut cell) = (0, self.names);
        for (i, g) in data.iter().enumerate() {
            if used > 0 && used + width(g) > max - self.names {
                parts.push(Vec::new());
                used = 0;
            }
            if let Some(p) = parts.last_mut() {
                p.push((i, cell));
            }
            used += width(g);
            cell += width(g);
        }
        for part in &parts {
            let groups: Vec<(&str, &[&str])> = names
                .iter()
                .copied()
                .chain(part.iter().map(|&(i, _)| data[i]))
                .collect();
            let rows: Vec<Vec<String>> = self
                .rows
                .iter()
                .map(|row| {
                    let mut cells: Vec<String> = row.iter().take(self.names).cloned().collect();
                    for &(i, start) in part {
                        for c in start..start + width(&data[i]) {
                            cells.push(row.get(c).cloned().unwrap_or_default());
                        }
                    }
                    cells
                })
                .collect();
            write_grouped(out, &groups, self.names, &rows);
        }
    }
}

fn write_grouped(out: &mut String, groups: &[(&str, &[&str])], names: usize, rows: &[Vec<String>]) {
    out.push_str("<div class=\"table-wrap\"><table class=\"grouped\">\n<thead><tr>");
    for (group, columns) in groups {
        if columns.is_empty() {
            let _ = write!(out, "<th rowspan=\"2\">{}</th>", escape(group));
        } else {
            let _ = write!(
                out,
                "<th class=\"group\" colspan=\"{}\">{}</th>",
                columns.len(),
                escape(group)
            );
        }
    }
    out.push_str("</tr>\n<tr>");
    for column in groups.iter().flat_map(|(_, c)| c.iter()) {
        let _ = write!(out, "<th>{}</th>", escape(column));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if i < names { " class=\"name\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn ms(v: f64) -> String {
    format!("{v:.3}")
}

fn p50_p99(p: &Percentiles, format: fn(f64) -> String) -> [String; 2] {
    [format(p.p50), format(p.p99)]
}

/// The outcomes of asynchronous invocations, one row per variant and function that had any; nothing when
/// none had.
pub(super) fn async_events(out: &mut String, variants: &[(String, &RunReport)]) {
    let mut rows = Vec::new();
    for (name, r) in variants {
        for f in &r.functions {
            let Some(a) = &f.async_events else { continue };
            let mut row = vec![
                name.clone(),
                f.name.clone(),
                a.enqueued.to_string(),
                a.delivered_first_attempt.to_string(),
                a.delivered_after_retries.to_string(),
                a.failed_retries_exhausted.to_string(),
                a.failed_event_age_exceeded.to_string(),
                a.failed_zero_reserved_concurrency.to_string(),
                a.pending_at_end.to_string(),
                a.attempts.to_string(),
            ];
            row.extend(p50_p99(&a.queue_delay_ms, ms));
            row.extend(p50_p99(&a.event_latency_ms, ms));
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return;
    }
    out.push_str("<section id=\"async\">\n<h2>Asynchronous invocations</h2>\n");
    out.push_str(
        "<p class=\"meta\">Events accepted (202) into each function's internal queue and how they ended: \
         delivered on the first attempt or after retries, or failed — RetriesExhausted after the last retry, \
         EventAgeExceeded while waiting, or never attempted because reserved concurrency is 0. Queue delay is \
         enqueue to first attempt; event latency is enqueue to the final outcome.</p>\n",
    );
    GroupedTable {
        groups: &[
            ("variant", &[]),
            ("function", &[]),
            ("enqueued", &[]),
            ("delivered", &["first attempt", "after retries"]),
            (
                "failed",
                &[
                    "RetriesExhausted",
                    "EventAgeExceeded",
                    "reserved concurrency 0",
                ],
            ),
            ("pending", &[]),
            ("attempts", &[]),
            ("queue delay ms", &["p50", "p99"]),
            ("event latency ms", &["p50", "p99"]),
        ],
        names: 2,
        rows,
    }
    .write(out);
    out.push_str("</section>\n");
}

/// The run's SQS queues: a table row per variant and queue, then per variant a timeline per queue. The time
/// axis is the function timelines'; a queue's two vertical axes are shared by the variants (equal heights,
/// equal values), but not by different queues (a dead-letter queue would vanish next to its source).
pub(super) fn queues(out: &mut String, variants: &[(String, &RunReport)]) {
    if variants.iter().all(|(_, r)| r.queues.is_empty()) {
        return;
    }
    out.push_str("<section id=\"queues\">\n<h2>SQS queues</h2>\n");
    out.push_str(
        "<p class=\"meta\">Messages sent and how they left the queue: deleted after a successful batch, \
         redriven to the dead-letter queue, expired, or remaining at the end. Batch size is messages per batch \
         delivered to the function; message latency is sent to deleted.</p>\n",
    );
    let mut rows = Vec::new();
    for (name, r) in variants {
        for q in &r.queues {
            let mut row = vec![
                name.clone(),
                q.name.clone(),
                q.sent.to_string(),
                q.deleted.to_string(),
                q.redriven.to_string(),
                q.expired.to_string(),
                q.remaining.to_string(),
                q.peak_depth.to_string(),
                q.batches.to_string(),
            ];
            row.extend(p50_p99(&q.batch_size, charts::axis_number));
            row.extend(p50_p99(&q.message_latency_ms, ms));
            rows.push(row);
        }
    }
    GroupedTable {
        groups: &[
            ("variant", &[]),
            ("queue", &[]),
            (
                "messages",
                &["sent", "deleted", "redriven", "expired", "remaining"],
            ),
            ("peak depth", &[]),
            ("batches", &[]),
            ("batch size", &["p50", "p99"]),
            ("message latency ms", &["p50", "p99"]),
        ],
        names: 2,
        rows,
    }
    .write(out);

    let lines: Vec<Vec<Timeline<QueueBucket>>> = variants
        .iter()
        .map(|(_, r)| r.queues.iter().map(|q| Timeline::of_queue(r, q)).collect())
        .collect();
    // The same time axis as the function timelines (queue timelines have their length).
    let end_ns = variants
        .iter()
        .map(|(_, r)| Timeline::of(r).end_ns)
        .chain(lines.iter().flatten().map(|t| t.end_ns))
        .max()
        .unwrap_or(0);
    let unit = TimeUnit::for_span_ns(end_ns);
    let x_max = end_ns as f64 / unit.ns();
    // Per queue name: the highest depth and oldest age over every variant.
    let mut axes: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for ((_, r), ts) in variants.iter().zip(&lines) {
        for (q, t) in r.queues.iter().zip(ts) {
            let (depth, age) = axes.entry(&q.name).or_default();
            *depth = depth
                .max(t.max(|b| b.depth as f64))
                .max(t.max(|b| b.in_flight as f64));
            *age = age.max(t.max(|b| b.oldest_age_s));
        }
    }
    for ((name, r), ts) in variants.iter().zip(&lines) {
        if r.queues.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<h3>{}</h3>", escape(name));
        for (q, t) in r.queues.iter().zip(ts) {
            let (depth_max, age_max) = axes.get(q.name.as_str()).copied().unwrap_or_default();
            let step = series::duration_label(t.step_ns);
            let messages = [
                Curve {
                    name: "depth (visible + in flight)".into(),
                    color: charts::BLUE,
                    points: t.series(unit, |b| b.depth as f64),
                    filled: true,
                },
                Curve {
                    name: "in flight".into(),
                    color: charts::GREEN,
                    points: t.series(unit, |b| b.in_flight as f64),
                    filled: false,
                },
            ];
            let age = [Curve {
                name: "oldest message age".into(),
                color: charts::RED,
                points: t.series(unit, |b| b.oldest_age_s),
                filled: false,
            }];
            figure(
                out,
                "queue",
                Some(name),
                charts::dual_timeline(
                    &format!("{name}: queue {}", q.name),
                    unit,
                    x_max,
                    Axis {
                        desc: "messages",
                        max: depth_max,
                        curves: &messages,
                    },
                    Axis {
                        desc: "oldest message age (s)",
                        max: age_max,
                        curves: &age,
                    },
                ),
                &format!(
                    "{name}: queue {} at the end of each {step}: messages in the queue (visible or in flight), \
                     those in flight (received by the function, not yet deleted), and the age of the oldest \
                     message (right axis, seconds).",
                    q.name
                ),
            );
        }
    }
    out.push_str("</section>\n");
}
