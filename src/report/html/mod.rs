//! The HTML report: one self-contained file (inline SVG drawn with `plotters`, inline CSS, no script, no
//! network) that shows runs side by side.
//!
//! For each variant (a plain run is one variant) it draws the end-to-end latency distribution — HdrHistogram
//! style, percentile on a log scale of 1/(1 − p) — for all, cold and warm invocations; timelines of environments
//! (busy, alive, idle), of cold starts and throttles and of p99 latency (several variants: overlaid, a line
//! each); and for runs of several functions a collapsible section per function. With several variants it adds
//! one chart overlaying every variant's distribution; for a sweep, a cost-vs-p99 scatter with the Pareto
//! frontier and the chosen point, and cold starts against the swept setting. Costs are per run, per million
//! requests and per 30-day month at the run's rate.
//! Runs with event sources get more, and runs without look as before: a table of asynchronous invocation
//! outcomes per function, and per SQS queue a table row and a timeline of depth, in flight and oldest age.
//! The comparison table (formatted by the caller) comes first; without one, a short summary per variant.
//!
//! Charts are over all functions of a run together ([`RunReport::total`]). Variants share axes, so equal
//! heights mean equal values. Output is deterministic: the same input gives the same bytes.
//!
//! No font backend is compiled in: `plotters` only estimates text widths for layout and writes `<text>`
//! elements that the browser renders with its own fonts, so building needs no system font libraries.

mod charts;
mod cold_starts;
mod environments;
mod event_sources;
mod functions;
mod page;
mod series;
mod services;
#[cfg(test)]
mod tests;
mod timelines;

use super::RunReport;

/// A table of preformatted cells (the comparison table of variants or sweep points).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table under these column headers.
    pub fn new(headers: &[&str], rows: Vec<Vec<String>>) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows,
        }
    }
}

/// One point of a sweep, for the cost-vs-p99 chart.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// What the point sets, e.g. `memory_mb=512`.
    pub label: String,
    pub cost_usd: f64,
    pub p99_ms: f64,
    /// Cold starts, % of invocations.
    pub cold_pct: f64,
    /// The swept setting's name and value, when one numeric setting is swept (for cold starts against it).
    pub setting: Option<(String, f64)>,
    /// The optimum the sweep's strategy picked.
    pub chosen: bool,
}

/// Everything the report shows.
#[derive(Debug, Clone)]
pub struct HtmlInput<'a> {
    /// The page's title (and first heading).
    pub title: String,
    /// One per variant (a plain run is one variant called e.g. "baseline"), in display order.
    pub variants: Vec<(String, &'a RunReport)>,
    /// The comparison table (already formatted strings), if any.
    pub table: Option<Table>,
    /// For sweeps: one point per sweep point.
    pub sweep: Option<Vec<SweepPoint>>,
}

/// Renders the whole HTML document.
pub fn render(input: &HtmlInput) -> String {
    page::render(input)
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
