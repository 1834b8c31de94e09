//! Per-function sections (runs of several functions): each function's percentiles, outcomes, throttles by Reason
//! and cost in a `<details>` block that opens without script; and the cost figures people compare — per run, per
//! million requests, and per month at the run's rate.

use std::fmt::Write;

use super::page::table;
use super::{Table, escape};
use crate::model::ThrottleReason;
pub(super) use crate::report::summary::usd;
use crate::report::{FunctionReport, Percentiles, RunReport};

/// Above this many functions, a variant's sections cover only the busiest ones (the JSON has every function).
const MAX_SECTIONS: usize = 20;

/// Seconds in the month the monthly cost is quoted for (30 days).
const MONTH_S: f64 = 30.0 * 86_400.0;

/// Cost per million billed requests (`None` when none was billed).
pub(super) fn per_million(f: &FunctionReport) -> Option<f64> {
    let requests = f.outcomes.invoked() + f.pings.sent.saturating_sub(f.pings.throttled);
    (requests > 0).then(|| f.cost.total / requests as f64 * 1e6)
}

/// Cost of a 30-day month of the run's traffic: the run's cost scaled from its simulated duration.
pub(super) fn per_month(f: &FunctionReport, r: &RunReport) -> Option<f64> {
    let s = r.duration_ns as f64 / 1e9;
    (s > 0.0).then(|| f.cost.total * MONTH_S / s)
}

/// The sections of every variant with more than one function.
pub(super) fn functions(out: &mut String, variants: &[(String, &RunReport)]) {
    if variants.iter().all(|(_, r)| r.functions.len() < 2) {
        return;
    }
    out.push_str(
        "<section id=\"functions\">\n<h2>Per function</h2>\n<p>Each function on its own (click to open): \
         latency, outcomes, throttles by Reason and cost. The charts above are over all functions together.</p>\n",
    );
    for (name, r) in variants {
        if r.functions.len() < 2 {
            continue;
        }
        if variants.len() > 1 {
            let _ = writeln!(out, "<h3>{}</h3>", escape(name));
        }
        let mut shown: Vec<&FunctionReport> = r.functions.iter().collect();
        if shown.len() > MAX_SECTIONS {
            shown.sort_by_key(|f| std::cmp::Reverse(f.arrivals));
            shown.truncate(MAX_SECTIONS);
            let _ = writeln!(
                out,
                "<p>The {MAX_SECTIONS} functions with the most arrivals of {}; the JSON report has every one.</p>",
                r.functions.len()
            );
        }
        for f in shown {
            section(out, f, r);
        }
    }
    out.push_str("</section>\n");
}

fn section(out: &mut String, f: &FunctionReport, r: &RunReport) {
    let _ = writeln!(
        out,
        "<details class=\"function\" data-function=\"{}\"><summary><b>{}</b> · {} invocations · p99 {} ms · \
         cold {:.2}% · {} throttles · {}</summary>",
        escape(&f.name),
        escape(&f.name),
        f.outcomes.invoked(),
        fmt_ms(f.latency.all.p99),
        f.cold_start_ratio() * 100.0,
        f.throttles.total(),
        usd(f.cost.total)
    );
    let row = |label: &str, p: &Percentiles| {
        vec![
            label.to_string(),
            p.count.to_string(),
            fmt_ms(p.p50),
            fmt_ms(p.p90),
            fmt_ms(p.p99),
            fmt_ms(p.p999),
            fmt_ms(p.max),
        ]
    };
    let l = &f.latency;
    table(
        out,
        &Table::new(
            &[
                "latency", "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms",
            ],
            vec![
                row("all", &l.all),
                row("cold", &l.cold),
                row("warm", &l.warm),
            ],
        ),
    );
    let outcomes: Vec<(&str, u64)> = f
        .outcomes
        .entries()
        .into_iter()
        .filter(|&(name, n)| n > 0 || name == "success")
        .collect();
    table(
        out,
        &Table {
            headers: outcomes.iter().map(|(n, _)| n.to_string()).collect(),
            rows: vec![outcomes.iter().map(|(_, n)| n.to_string()).collect()],
        },
    );
    let reasons: Vec<Vec<String>> = ThrottleReason::ALL
        .iter()
        .filter(|&&reason| f.throttles.reason(reason) > 0)
        .map(|&reason| {
            vec![
                reason.as_str().to_string(),
                f.throttles.reason(reason).to_string(),
            ]
        })
        .collect();
    if !reasons.is_empty() {
        table(out, &Table::new(&["throttle Reason", "count"], reasons));
    }
    table(
        out,
        &Table::new(
            &[
                "cost of the run",
                "per 1M requests",
                "per month at this rate",
            ],
            vec![vec![
                usd(f.cost.total),
                per_million(f).map_or("—".into(), usd),
                per_month(f, r).map_or("—".into(), usd),
            ]],
        ),
    );
    out.push_str("</details>\n");
}

fn fmt_ms(x: f64) -> String {
    format!("{x:.3}")
}
