//! The HTML document around the charts: head with inline CSS, the table, the sections of charts, every text
//! escaped. No script, no external resource.

use std::fmt::Write;

use super::charts::{self, Curve, PALETTE, SweepDot};
use super::functions::{per_million, per_month, usd};
use super::series;
use super::{HtmlInput, Table, escape, event_sources};
use crate::report::RunReport;

const STYLE: &str = "\
body{font-family:sans-serif;margin:24px auto;max-width:1140px;padding:0 12px;color:#222;background:#fff}
h1{font-size:26px;margin:0 0 6px}h2{font-size:21px;margin:30px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:17px;margin:18px 0 6px}
p.meta{color:#555;margin:2px 0;font-size:14px}
table{border-collapse:collapse;font-size:14px;margin:8px 0;max-width:100%}
th,td{border:1px solid #ccc;padding:4px 7px;text-align:right}
th,td{white-space:normal}
th{background:#f2f2f2}th:first-child,td:first-child{text-align:left}
table.grouped th{white-space:normal}th.group{text-align:center}thead tr+tr th:first-child{text-align:right}
td.name{text-align:left}
tbody tr:nth-child(even){background:#fafafa}
.table-wrap{overflow-x:auto}
figure.chart{margin:10px 0 18px}
figure.chart svg{display:block;max-width:100%;height:auto;border:1px solid #e4e4e4}
figcaption{font-size:13px;color:#555;margin-top:4px}
details.function{margin:6px 0;padding:4px 8px;border:1px solid #e4e4e4}
details.function summary{cursor:pointer;font-size:15px}
p.error{color:#b00}
footer{margin-top:36px;font-size:12px;color:#777}
";

pub(super) fn render(input: &HtmlInput) -> String {
    let mut out = String::new();
    let title = escape(&input.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    for (name, r) in &input.variants {
        let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(&run_line(name, r)));
        for line in &r.not_lambda {
            let _ = writeln!(
                out,
                "<p class=\"meta\">{}: not Lambda: {}</p>",
                escape(name),
                escape(line)
            );
        }
    }

    match &input.table {
        Some(t) => {
            out.push_str("<section id=\"comparison\">\n<h2>Comparison</h2>\n");
            table(&mut out, t);
            table(&mut out, &cost_table(&input.variants));
        }
        None => {
            out.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n");
            table(&mut out, &summary_table(&input.variants));
        }
    }
    out.push_str("</section>\n");
    super::environments::environments(&mut out, &input.variants);
    super::cold_starts::cold_starts(&mut out, &input.variants);

    if let Some(points) = &input.sweep {
        sweep(&mut out, points);
    }
    latency(&mut out, &input.variants);
    super::timelines::timelines(&mut out, &input.variants);
    super::functions::functions(&mut out, &input.variants);
    event_sources::async_events(&mut out, &input.variants);
    event_sources::queues(&mut out, &input.variants);
    super::services::services(&mut out, &input.variants);

    let _ = write!(
        out,
        "<footer>Made by lambda-sim {}. Latency is end to end (placement, init and handler) over all \
         functions; warm includes provisioned environments.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// "baseline: scenario "x" · seed 1 · virtual · 180 s simulated, ended at 181.2 s"
fn run_line(name: &str, r: &RunReport) -> String {
    format!(
        "{name}: scenario \"{}\" · seed {} · {} · {} s simulated, ended at {} s",
        r.scenario,
        r.seed,
        r.mode_str(),
        charts::axis_number(r.duration_ns as f64 / 1e9),
        charts::axis_number((r.end_ns as f64 / 1e6).round() / 1e3),
    )
}

/// Most columns of one table part (the first column included).
const MAX_COLUMNS: usize = 9;

/// `t` as tables of at most `max` columns, each starting with `t`'s first column.
fn split_columns(t: &Table, max: usize) -> Vec<Table> {
    let data = t.headers.len().saturating_sub(1);
    if t.headers.len() <= max || data == 0 {
        return vec![t.clone()];
    }
    let parts = data.div_ceil(max - 1);
    let per = data.div_ceil(parts);
    (0..parts)
        .map(|k| {
            let cols: Vec<usize> = std::iter::once(0)
                .chain(1 + k * per..(1 + (k + 1) * per).min(t.headers.len()))
                .collect();
            Table {
                headers: cols.iter().map(|&c| t.headers[c].clone()).collect(),
                rows: t
                    .rows
                    .iter()
                    .map(|r| {
                        cols.iter()
                            .map(|&c| r.get(c).cloned().unwrap_or_default())
                            .collect()
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Writes `t`; a table of more than [`MAX_COLUMNS`] columns goes in parts of a few columns each (every part keeps
/// the first column), so every part fits the page and nothing hides behind a scroll bar.
pub(super) fn table(out: &mut String, t: &Table) {
    for part in split_columns(t, MAX_COLUMNS) {
        table_part(out, &part);
    }
}

fn table_part(out: &mut String, t: &Table) {
    out.push_str("<div class=\"table-wrap\"><table>\n<thead><tr>");
    for h in &t.headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

/// The few numbers to read first, per variant (shown when the caller gives no comparison table).
fn summary_table(variants: &[(String, &RunReport)]) -> Table {
    let headers = [
        "variant",
        "invocations",
        "cold starts",
        "p50 ms",
        "p99 ms",
        "p99 cold ms",
        "throttles",
        "errors",
        "cost of the run",
        "cost per 1M requests",
        "cost per month at this rate",
    ];
    let rows = variants
        .iter()
        .map(|(name, r)| {
            let t = &r.total;
            let o = &t.outcomes;
            vec![
                name.clone(),
                o.invoked().to_string(),
                format!("{} ({:.2}%)", t.cold_starts, t.cold_start_ratio() * 100.0),
                format!("{:.3}", t.latency.all.p50),
                format!("{:.3}", t.latency.all.p99),
                format!("{:.3}", t.latency.cold.p99),
                t.throttles.total().to_string(),
                (o.function_error + o.timeout + o.out_of_memory + o.crash).to_string(),
                usd(t.cost.total),
                per_million(t).map_or("—".into(), usd),
                per_month(t, r).map_or("—".into(), usd),
            ]
        })
        .collect();
    Table::new(&headers, rows)
}

/// What each variant costs: per run, per million requests, and per 30-day month at the run's rate.
fn cost_table(variants: &[(String, &RunReport)]) -> Table {
    let rows = variants
        .iter()
        .map(|(name, r)| {
            vec![
                name.clone(),
                usd(r.total.cost.total),
                per_million(&r.total).map_or("—".into(), usd),
                per_month(&r.total, r).map_or("—".into(), usd),
            ]
        })
        .collect();
    Table::new(
        &[
            "variant",
            "cost of the run",
            "cost per 1M requests",
            "cost per month at this rate",
        ],
        rows,
    )
}

/// One chart in a `<figure>`: the SVG, or the reason it could not be drawn.
pub(super) fn figure(
    out: &mut String,
    kind: &str,
    variant: Option<&str>,
    svg: charts::ChartResult,
    caption: &str,
) {
    let _ = write!(out, "<figure class=\"chart\" data-chart=\"{kind}\"");
    if let Some(v) = variant {
        let _ = write!(out, " data-variant=\"{}\"", escape(v));
    }
    out.push_str(">\n");
    match svg {
        Ok(svg) => out.push_str(&svg),
        Err(e) => {
            let _ = writeln!(
                out,
                "<p class=\"error\">chart could not be drawn: {}</p>",
                escape(&e)
            );
        }
    }
    let _ = writeln!(
        out,
        "<figcaption>{}</figcaption>\n</figure>",
        escape(caption)
    );
}

fn sweep(out: &mut String, points: &[super::SweepPoint]) {
    out.push_str("<section id=\"sweep\">\n<h2>Sweep: cost against p99</h2>\n");
    let dots: Vec<SweepDot> = points
        .iter()
        .map(|p| SweepDot {
            label: &p.label,
            cost_usd: p.cost_usd,
            p99_ms: p.p99_ms,
            chosen: p.chosen,
        })
        .collect();
    let chosen = points
        .iter()
        .find(|p| p.chosen)
        .map_or("none".to_string(), |p| p.label.clone());
    figure(
        out,
        "sweep",
        None,
        charts::sweep("Cost and p99 latency per sweep point", &dots),
        &format!(
            "Each point is one run of the sweep; lower left is cheaper and faster. The grey line joins the Pareto \
             frontier: the points no other point beats on both cost and p99. Chosen optimum: {chosen}."
        ),
    );
    // One swept numeric setting: cold starts against it.
    let setting: Option<Vec<(f64, f64)>> = points
        .iter()
        .map(|p| p.setting.as_ref().map(|(_, v)| (*v, p.cold_pct)))
        .collect();
    if let (Some(line), Some((name, _))) =
        (setting, points.first().and_then(|p| p.setting.as_ref()))
    {
        figure(
            out,
            "sweep-cold",
            None,
            charts::setting_line(
                &format!("Cold starts against {name}"),
                name,
                "cold starts (%)",
                &line,
            ),
            &format!("The share of invocations that were cold starts at each value of {name}."),
        );
    }
    out.push_str("</section>\n");
}

fn latency(out: &mut String, variants: &[(String, &RunReport)]) {
    out.push_str("<section id=\"latency\">\n<h2>Latency distribution</h2>\n");
    let count = variants
        .iter()
        .map(|(_, r)| series::latency_count(&r.total))
        .max()
        .unwrap_or(0);
    let x_max = series::percentile_axis_max(count);
    let y_max = variants
        .iter()
        .map(|(_, r)| series::latency_max_ms(&r.total))
        .fold(0.0, f64::max);
    if variants.len() > 1 {
        let curves: Vec<Curve> = variants
            .iter()
            .enumerate()
            .map(|(i, (name, r))| Curve {
                name: format!("{name} (n = {})", r.total.histograms.all.len()),
                color: PALETTE[i % PALETTE.len()],
                points: series::percentile_curve(
                    &r.total.histograms.all,
                    r.total.latency.all.max,
                    x_max,
                ),
                filled: false,
            })
            .collect();
        figure(
            out,
            "percentiles-overlay",
            None,
            charts::percentiles("All invocations, every variant", &curves, x_max, y_max),
            "End-to-end latency at each percentile, all invocations of each variant on one chart.",
        );
    }
    for (name, r) in variants {
        let (h, l) = (&r.total.histograms, &r.total.latency);
        let curve = |label: &str, color, hist: &hdrhistogram::Histogram<u64>, max_ms| Curve {
            name: format!("{label} (n = {})", hist.len()),
            color,
            points: series::percentile_curve(hist, max_ms, x_max),
            filled: false,
        };
        let curves = [
            curve("all", charts::BLUE, &h.all, l.all.max),
            curve("cold", charts::RED, &h.cold, l.cold.max),
            curve("warm", charts::GREEN, &h.warm, l.warm.max),
        ];
        figure(
            out,
            "percentiles",
            Some(name),
            charts::percentiles(
                &format!("{name}: latency by percentile"),
                &curves,
                x_max,
                y_max,
            ),
            &format!(
                "{name}: end-to-end latency at each percentile (HdrHistogram style: 90 %, 99 %, 99.9 % … are \
                 evenly spaced) for all, cold-start and warm invocations."
            ),
        );
    }
    out.push_str("</section>\n");
}
