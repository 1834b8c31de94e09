//! The comparison table of a lab: one row per variant (or sweep point) with cold-start %, latency percentiles of
//! all and of cold invocations, throttles, errors, cost and idle GB-s, each with its change against the first row.
//!
//! Numbers come from the run's total over all functions. Text for the terminal stays within 100 columns by
//! splitting the table in two (latency; counts and cost); [`Comparison::table`] gives one wide table for HTML.

use std::fmt::Write;

use super::LabRun;
use crate::report::FunctionReport;

/// The figures compared for one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub invocations: u64,
    pub cold_pct: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub cold_p50_ms: f64,
    pub cold_p99_ms: f64,
    pub cold_p999_ms: f64,
    pub throttles: u64,
    /// Function errors, timeouts, out-of-memory and crashes.
    pub errors: u64,
    pub cost_usd: f64,
    /// On-demand plus provisioned idle GB-s.
    pub idle_gb_s: f64,
    /// Warmer pings sent (not in the other figures, except cost).
    pub pings: u64,
    /// The mean of each function's cold-start % over the functions that ran: the per-function (per-app) view of
    /// Shahrad et al. (ATC '20), where a rarely called function counts as much as a busy one.
    pub fn_cold_pct: f64,
}

impl Figures {
    pub fn of(total: &FunctionReport) -> Self {
        let o = &total.outcomes;
        let l = &total.latency;
        Figures {
            invocations: o.invoked(),
            cold_pct: total.cold_start_ratio() * 100.0,
            p50_ms: l.all.p50,
            p99_ms: l.all.p99,
            p999_ms: l.all.p999,
            cold_p50_ms: l.cold.p50,
            cold_p99_ms: l.cold.p99,
            cold_p999_ms: l.cold.p999,
            throttles: total.throttles.total(),
            errors: o.function_error + o.timeout + o.out_of_memory + o.crash,
            cost_usd: total.cost.total,
            idle_gb_s: total.gb_s.idle_on_demand + total.gb_s.idle_provisioned,
            pings: total.pings.sent,
            fn_cold_pct: total.cold_start_ratio() * 100.0,
        }
    }

    /// [`Figures::of`] the run's total, with the per-function cold-start mean from its functions.
    pub fn of_run(report: &crate::report::RunReport) -> Self {
        let mut f = Self::of(&report.total);
        let ran: Vec<f64> = report
            .functions
            .iter()
            .filter(|x| x.cold_starts + x.warm_starts + x.provisioned_starts > 0)
            .map(|x| x.cold_start_ratio() * 100.0)
            .collect();
        if !ran.is_empty() {
            f.fn_cold_pct = ran.iter().sum::<f64>() / ran.len() as f64;
        }
        f
    }
}

/// A table of strings (header row, then one row per run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The comparison of several runs, the first being the reference for deltas.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub names: Vec<String>,
    pub figures: Vec<Figures>,
    /// A marker shown after a row's name (e.g. the sweep's optimum), by row.
    pub marks: Vec<Option<String>>,
    /// Each run's simulated services (empty without `[[service]]`).
    pub services: Vec<Vec<crate::report::ServiceReport>>,
    /// Whether some run has more than one function (the terminal shows `cold %/fn` only then).
    pub many_functions: bool,
}

impl Comparison {
    pub fn new(runs: &[LabRun]) -> Self {
        Comparison {
            names: runs.iter().map(|r| r.name.clone()).collect(),
            figures: runs.iter().map(|r| Figures::of_run(&r.report)).collect(),
            marks: runs.iter().map(|_| None).collect(),
            services: runs.iter().map(|r| r.report.services.clone()).collect(),
            many_functions: runs.iter().any(|r| r.report.functions.len() > 1),
        }
    }

    /// Plain text for a terminal: a latency table and a counts-and-cost table, with a Δ line under every row
    /// after the first.
    /// Rows longer than [`NAME_WIDTH`] are numbered (`#1`, `#2`, …) with the full names listed above the tables;
    /// marked rows carry `▶` in the margin (the caller says what the mark means).
    pub fn text(&self) -> String {
        let mut out = String::new();
        let numbered = self.names.iter().any(|n| n.chars().count() > NAME_WIDTH);
        let labels: Vec<String> = if numbered {
            (1..=self.names.len()).map(|i| format!("#{i}")).collect()
        } else {
            self.names.clone()
        };
        if numbered {
            for (label, name) in labels.iter().zip(&self.names) {
                let _ = writeln!(out, "  {label:<4} {name}");
            }
            out.push('\n');
        }
        let name_w = labels
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(6, NAME_WIDTH);
        let (latency, counts) = COLUMNS.split_at(LATENCY_COLUMNS);
        // `cold %/fn` (the last column) equals `cold %` with one function.
        let counts = if self.many_functions {
            counts
        } else {
            &counts[..counts.len() - 1]
        };
        out.push_str("latency, ms (all invocations and cold starts)\n");
        self.section(&mut out, &labels, name_w, latency, 11);
        out.push('\n');
        out.push_str("counts and cost\n");
        self.section(&mut out, &labels, name_w, counts, 12);
        if self.many_functions {
            out.push_str(
                "  cold %/fn: the mean of each function's own cold-start % (each function counts once, like the \
                 apps of ATC '20);\n  idle GB-s: memory kept warm but unused (ATC '20's wasted memory time)\n",
            );
        }
        self.services_text(&mut out, &labels, name_w);
        out
    }

    /// Per variant and service: how calls ended, peak database connections and call latency.
    fn services_text(&self, out: &mut String, labels: &[String], name_w: usize) {
        if self.services.iter().all(Vec::is_empty) {
            return;
        }
        out.push_str("\nservices (refused: no connection; gave up: no proxy connection in time)\n");
        let _ = writeln!(
            out,
            "  {:<name_w$} {:<10}{:>9}{:>9}{:>8}{:>9}{:>9}{:>7}{:>10}{:>10}",
            "",
            "service",
            "calls",
            "refused",
            "gave up",
            "errors",
            "peak db",
            "waited",
            "p50 ms",
            "p99 ms"
        );
        for (label, services) in labels.iter().zip(&self.services) {
            for s in services {
                let _ = writeln!(
                    out,
                    "  {:<name_w$} {:<10}{:>9}{:>9}{:>8}{:>9}{:>9}{:>7}{:>10}{:>10}",
                    truncate(label, name_w),
                    truncate(&s.name, 10),
                    s.calls,
                    s.refused,
                    s.timed_out,
                    s.errors,
                    s.peak_connections,
                    s.waited_calls,
                    sig(s.latency_ms.p50, 4),
                    sig(s.latency_ms.p99, 4)
                );
            }
        }
    }

    fn section(
        &self,
        out: &mut String,
        labels: &[String],
        name_w: usize,
        cols: &[Column],
        w: usize,
    ) {
        let _ = write!(out, "  {:<name_w$}", "");
        for (title, _, _) in cols {
            let _ = write!(out, "{title:>w$}");
        }
        out.push('\n');
        let base = self.figures.first().copied();
        for (i, f) in self.figures.iter().enumerate() {
            let gutter = if self.marks[i].is_some() {
                "▶ "
            } else {
                "  "
            };
            let _ = write!(out, "{gutter}{:<name_w$}", truncate(&labels[i], name_w));
            for (_, get, fmt) in cols {
                let _ = write!(out, "{:>w$}", fmt.show(get(f)));
            }
            out.push('\n');
            if let (Some(b), true) = (base, i > 0) {
                let _ = write!(out, "  {:<name_w$}", "  Δ");
                for (_, get, fmt) in cols {
                    let _ = write!(out, "{:>w$}", fmt.delta(get(&b), get(f)));
                }
                out.push('\n');
            }
        }
    }

    /// One wide table (for HTML): every figure with its delta in parentheses.
    pub fn table(&self) -> Table {
        let mut headers = vec!["variant".to_string()];
        headers.extend(COLUMNS.iter().map(|(title, _, fmt)| match fmt {
            Fmt::Ms => format!("{title} ms"),
            _ => title.to_string(),
        }));
        let base = self.figures.first().copied();
        let rows = self
            .figures
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut row = vec![match &self.marks[i] {
                    Some(m) => format!("{} {m}", self.names[i]),
                    None => self.names[i].clone(),
                }];
                for (_, get, fmt) in &COLUMNS {
                    let mut cell = fmt.show(get(f));
                    if let (Some(b), true) = (base, i > 0) {
                        cell = format!("{cell} ({})", fmt.delta(get(&b), get(f)));
                    }
                    row.push(cell);
                }
                row
            })
            .collect();
        Table { headers, rows }
    }
}

fn truncate(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Widest row name the terminal tables show; longer names are numbered.
pub const NAME_WIDTH: usize = 21;

/// A column: its title, how to read the figure, how to show it.
type Column = (&'static str, fn(&Figures) -> f64, Fmt);

/// Every compared figure, in table order; the first [`LATENCY_COLUMNS`] form the terminal's latency table.
const COLUMNS: [Column; 14] = [
    ("cold %", |f| f.cold_pct, Fmt::Pct),
    ("p50", |f| f.p50_ms, Fmt::Ms),
    ("p99", |f| f.p99_ms, Fmt::Ms),
    ("p99.9", |f| f.p999_ms, Fmt::Ms),
    ("cold p50", |f| f.cold_p50_ms, Fmt::Ms),
    ("cold p99", |f| f.cold_p99_ms, Fmt::Ms),
    ("cold p99.9", |f| f.cold_p999_ms, Fmt::Ms),
    ("invocations", |f| f.invocations as f64, Fmt::Count),
    ("pings", |f| f.pings as f64, Fmt::Count),
    ("throttles", |f| f.throttles as f64, Fmt::Count),
    ("errors", |f| f.errors as f64, Fmt::Count),
    ("cost $", |f| f.cost_usd, Fmt::Usd),
    ("idle GB-s", |f| f.idle_gb_s, Fmt::Plain),
    ("cold %/fn", |f| f.fn_cold_pct, Fmt::Pct),
];
const LATENCY_COLUMNS: usize = 7;

/// How a figure is shown.
#[derive(Debug, Clone, Copy)]
enum Fmt {
    Pct,
    Ms,
    Count,
    Usd,
    Plain,
}

impl Fmt {
    fn show(self, x: f64) -> String {
        match self {
            Fmt::Pct => format!("{x:.2}"),
            Fmt::Ms => format!("{x:.2}"),
            Fmt::Count => format!("{x:.0}"),
            Fmt::Usd => sig(x, 4),
            Fmt::Plain => sig(x, 4),
        }
    }

    /// The change from `base` to `x`: points for percentages, relative change otherwise.
    fn delta(self, base: f64, x: f64) -> String {
        match self {
            Fmt::Pct => format!("{:+.2} pt", x - base),
            _ if base == x => "=".to_string(),
            _ if base == 0.0 => match self {
                Fmt::Count => format!("{:+.0}", x),
                _ => format!("+{}", self.show(x)),
            },
            _ => format!("{:+.1}%", (x - base) / base * 100.0),
        }
    }
}

/// `x` with `digits` significant digits, without exponent notation for everyday magnitudes.
fn sig(x: f64, digits: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0".to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).clamp(0, 10) as usize;
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_are_points_for_percentages_and_relative_otherwise() {
        assert_eq!(Fmt::Pct.delta(10.0, 2.5), "-7.50 pt");
        assert_eq!(Fmt::Ms.delta(200.0, 50.0), "-75.0%");
        assert_eq!(Fmt::Usd.delta(1.0, 1.0), "=");
        assert_eq!(Fmt::Count.delta(0.0, 12.0), "+12");
        assert_eq!(sig(0.000_123_456, 4), "0.0001235");
        assert_eq!(sig(1234.5, 4), "1234");
    }
}
