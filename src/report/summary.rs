//! The terminal summary: plain text, aligned columns, at most [`WIDTH`] characters a line.
//!
//! ```text
//! lambda-sim · scenario "unit" · seed 42 · virtual · 20 s simulated, ended at 20.005 s
//!
//! api · x86_64 · 128 MB · reserved 10 · code 104.5 KB
//!   latency ms       count         p50         p90         p99       p99.9         max        mean
//!   all                990      14.951      23.103      24.911     340.590     340.590      16.574
//!   cold                 5     335.359     340.590     340.590     340.590     340.590     333.853
//!     placement          5      90.000      90.000      90.000      90.000      90.000      90.000
//!     download           5       2.090       2.090       2.090       2.090       2.090       2.090
//!     init               5     200.000     200.000     200.000     200.000     200.000     200.000
//!     · runtime          5      15.700      15.700      15.700      15.700      15.700      15.700
//!     · code             5     184.300     184.300     184.300     184.300     184.300     184.300
//!     invocation         5      43.269      48.500      48.500      48.500      48.500      43.853
//!   warm               985      14.911      23.055      24.719      24.987      24.987      14.963
//!   conservation  arrivals 1000 = 979 success + 11 function_error + 10 throttled ✓
//!   throttles     10: concurrency 10, scaling rate 0
//!                   ConcurrentInvocationLimitExceeded                          5
//!                   ReservedFunctionConcurrentInvocationLimitExceeded          5
//!   starts        cold 5 (0.505%), warm 985, provisioned 0; peak concurrency 3
//!   sandboxes     created 5 (0 provisioned); destroyed 5: keep_alive 0, max_lifetime 0, reset 0,
//!                 end_of_run 5
//!   cost          $0.000233 = requests $0.000198 + duration $0.0000352 + PC capacity $0 +
//!                 PC duration $0
//!   GB-s          on-demand 2.113, provisioned 0 (init 0), capacity 0
//!                 idle 1.75 on-demand + 0 provisioned (not billed)
//!
//! cold start = placement + download + init (· runtime start-up, · init code) or restore + invocation;
//!   each row's percentiles are its own, so the pieces' p50s need not add up to the cold p50
//!
//! prices: us-east-1 tier 1, no free tier; throttled requests are not billed
//! ```

use std::fmt::Write;

use super::{FunctionReport, Percentiles, RunReport, architecture_str};
use crate::model::{DestroyReason, ThrottleReason};

/// What the cold rows mean, printed under the functions when any had a cold start.
const COLD_START_LEGEND: &str = "\
cold start = placement + download + init (· runtime start-up, · init code) or restore + invocation;
  each row's percentiles are its own, so the pieces' p50s need not add up to the cold p50
";

/// Widest line the summary writes (in characters).
pub const WIDTH: usize = 100;

const LABEL: usize = 14;

/// Above this many functions, the summary shows only the busiest [`BUSIEST_SHOWN`].
const MAX_FUNCTIONS_SHOWN: usize = 20;
const BUSIEST_SHOWN: usize = 10;

pub(super) fn summary(r: &RunReport) -> String {
    let mut out = String::new();
    let mut head = Lines::new("", 0);
    head.push(format!("lambda-sim · scenario \"{}\"", r.scenario), "");
    head.push(format!("seed {}", r.seed), " · ");
    head.push(r.mode_str().to_string(), " · ");
    head.push(
        format!(
            "{} s simulated, ended at {} s",
            secs(r.duration_ns),
            secs(r.end_ns)
        ),
        " · ",
    );
    out.push_str(&head.finish());
    for line in &r.not_lambda {
        let _ = writeln!(out, "not Lambda: {line}");
    }
    // A run of many functions (a replayed trace) shows its busiest ones and the total; JSON has every function.
    let shown: Vec<&FunctionReport> = if r.functions.len() > MAX_FUNCTIONS_SHOWN {
        let mut busiest: Vec<&FunctionReport> = r.functions.iter().collect();
        busiest.sort_by_key(|f| std::cmp::Reverse(f.arrivals));
        busiest.truncate(BUSIEST_SHOWN);
        busiest
    } else {
        r.functions.iter().collect()
    };
    for f in &shown {
        out.push('\n');
        function(&mut out, f, &function_title(f));
    }
    if shown.len() < r.functions.len() {
        let _ = writeln!(
            out,
            "\n… {} more functions not shown (the {BUSIEST_SHOWN} with the most arrivals are above; every function \
             is in --json)",
            r.functions.len() - shown.len()
        );
    }
    // One function's total would repeat its block line for line.
    let n = r.functions.len();
    if n > 1 {
        out.push('\n');
        function(&mut out, &r.total, &format!("total · {n} functions"));
    }
    if shown
        .iter()
        .any(|f| f.latency.cold_start.is_some() && f.latency.cold.count > 0)
    {
        out.push('\n');
        out.push_str(COLD_START_LEGEND);
    }
    for q in &r.queues {
        out.push('\n');
        queue(&mut out, q);
    }
    for s in &r.services {
        out.push('\n');
        super::services::summary(&mut out, s);
    }
    out.push_str("\nprices: us-east-1 tier 1, no free tier; throttled requests are not billed\n");
    if !r.conservation_ok() {
        out.push_str(
            "CONSERVATION FAILED: some arrivals have no outcome, or outcomes have no arrival\n",
        );
    }
    out
}

fn secs(ns: u64) -> String {
    let s = format!("{:.3}", ns as f64 / 1e9);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / f64::from(1 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KB", n as f64 / f64::from(1 << 10)),
        n => format!("{n} B"),
    }
}

/// A dollar amount with at least 3 significant digits (and at most 12 decimals); the HTML report uses it too.
pub(super) fn usd(x: f64) -> String {
    if x == 0.0 {
        return "$0".to_string();
    }
    if x >= 1.0 {
        return format!("${x:.2}");
    }
    for decimals in 4..=12 {
        let s = format!("{x:.decimals$}");
        let significant = s.trim_start_matches(['0', '.']).len();
        if significant >= 3 {
            return format!("${s}");
        }
    }
    format!("${x:.12}")
}

/// A number with up to 3 decimals, trailing zeros trimmed.
fn num(x: f64) -> String {
    let s = format!("{x:.3}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A mean that may be far below 1: three decimals from 1 up, four significant digits below (0.00001834).
fn mean(x: f64) -> String {
    if x >= 1.0 || x <= 0.0 || !x.is_finite() {
        return num(x);
    }
    let decimals = (3 - x.log10().floor() as i32).clamp(3, 12) as usize;
    let s = format!("{x:.decimals$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn function_title(f: &FunctionReport) -> String {
    let Some(c) = &f.config else {
        return f.name.clone();
    };
    let mut t = format!(
        "{} · {} · {} MB",
        f.name,
        architecture_str(c.architecture),
        c.memory_mb
    );
    if let Some(r) = c.reserved_concurrency {
        let _ = write!(t, " · reserved {r}");
    }
    if c.provisioned_concurrency > 0 {
        let _ = write!(
            t,
            " · provisioned {} from {} s",
            c.provisioned_concurrency,
            secs(c.provisioned_allocation_delay_ns)
        );
    }
    let _ = write!(t, " · code {}", bytes(c.code_bytes));
    t
}

/// Builds wrapped lines: a label column, then items joined by separators, continuing under the items.
struct Lines {
    out: String,
    line: String,
    indent: usize,
}

impl Lines {
    fn new(label: &str, indent: usize) -> Self {
        let line = if label.is_empty() && indent == 0 {
            String::new()
        } else {
            format!("  {label:<LABEL$}")
        };
        Lines {
            out: String::new(),
            line,
            indent,
        }
    }

    fn width(s: &str) -> usize {
        s.chars().count()
    }

    fn push(&mut self, item: String, sep: &str) {
        let start = Self::width(&self.line) <= self.indent;
        let piece = if start {
            item.clone()
        } else {
            format!("{sep}{item}")
        };
        if !start && Self::width(&self.line) + Self::width(&piece) > WIDTH {
            // Break after the separator, so the continuation reads as one.
            self.out.push_str(self.line.trim_end());
            self.out.push_str(sep.trim_end());
            self.out.push('\n');
            self.line = " ".repeat(self.indent);
            self.line.push_str(item.trim_start());
        } else {
            self.line.push_str(&piece);
        }
    }

    fn finish(mut self) -> String {
        self.out.push_str(self.line.trim_end());
        self.out.push('\n');
        self.out
    }
}

fn pct_row(out: &mut String, label: &str, p: &Percentiles) {
    let _ = write!(out, "  {label:<12}{:>10}", p.count);
    if p.count == 0 {
        for _ in 0..6 {
            let _ = write!(out, "{:>12}", "-");
        }
    } else {
        for v in [p.p50, p.p90, p.p99, p.p999, p.max, p.mean] {
            let _ = write!(out, "{v:>12.3}");
        }
    }
    out.push('\n');
}

fn conservation_line(f: &FunctionReport) -> String {
    let c = &f.conservation;
    let mut l = Lines::new("conservation", LABEL + 2);
    let terms: Vec<String> = f
        .outcomes
        .entries()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    if c.ok {
        l.push(format!("arrivals {} =", c.arrivals), "");
    } else {
        l.push(
            format!("arrivals {} ≠ {} outcomes:", c.arrivals, c.outcomes_total),
            "",
        );
    }
    if terms.is_empty() {
        l.push("0".to_string(), " ");
    }
    for (i, t) in terms.into_iter().enumerate() {
        l.push(t, if i == 0 { " " } else { " + " });
    }
    l.push(
        if c.ok {
            "✓".to_string()
        } else {
            "✗ MISMATCH".to_string()
        },
        " ",
    );
    l.finish()
}

fn function(out: &mut String, f: &FunctionReport, title: &str) {
    out.push_str(title);
    out.push('\n');
    let _ = writeln!(
        out,
        "  {:<12}{:>10}{:>12}{:>12}{:>12}{:>12}{:>12}{:>12}",
        "latency ms", "count", "p50", "p90", "p99", "p99.9", "max", "mean"
    );
    let l = &f.latency;
    pct_row(out, "all", &l.all);
    pct_row(out, "cold", &l.cold);
    // A cold start taken apart, under it: placement + download + init (runtime + code) or restore + invocation.
    let parts = l.cold_start.filter(|_| l.cold.count > 0);
    if let Some(p) = &parts {
        pct_row(out, "  placement", &p.placement);
        pct_row(out, "  download", &p.download);
    }
    pct_row(
        out,
        if parts.is_some() { "  init" } else { "init" },
        &l.init,
    );
    if let Some(p) = &parts
        && l.init.count > 0
    {
        pct_row(out, "  · runtime", &p.runtime);
        pct_row(out, "  · code", &p.function_init);
    }
    if l.restore.count > 0 {
        pct_row(
            out,
            if parts.is_some() {
                "  restore"
            } else {
                "restore"
            },
            &l.restore,
        );
    }
    if let Some(p) = &parts {
        pct_row(out, "  invocation", &p.invocation);
    }
    pct_row(out, "warm", &l.warm);

    out.push_str(&conservation_line(f));
    if !f.errors.is_empty() {
        let mut l = Lines::new("errors", LABEL + 2);
        for (i, (error_type, n)) in f.errors.iter().enumerate() {
            l.push(format!("{n} {error_type}"), if i == 0 { "" } else { ", " });
        }
        out.push_str(&l.finish());
    }

    let t = &f.throttles;
    let _ = write!(
        out,
        "  {:<LABEL$}{}: concurrency {}, scaling rate {}",
        "throttles",
        t.total(),
        t.cause_concurrency,
        t.cause_scaling_rate
    );
    // The request-rate limit rarely binds: its cause and Reasons show only when it did.
    if t.cause_request_rate > 0 {
        let _ = write!(out, ", request rate {}", t.cause_request_rate);
    }
    out.push('\n');
    for r in ThrottleReason::ALL {
        let rate_limit = matches!(
            r,
            ThrottleReason::FunctionInvocationRateLimitExceeded
                | ThrottleReason::ReservedFunctionInvocationRateLimitExceeded
        );
        if rate_limit && t.reason(r) == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "  {:<LABEL$}  {:<50}{:>10}",
            "",
            r.as_str(),
            t.reason(r)
        );
    }

    let mut l = Lines::new("starts", LABEL + 2);
    l.push(
        format!(
            "cold {} ({}%)",
            f.cold_starts,
            num(f.cold_start_ratio() * 100.0)
        ),
        "",
    );
    l.push(format!("warm {}", f.warm_starts), ", ");
    l.push(format!("provisioned {}", f.provisioned_starts), ", ");
    l.push(format!("peak concurrency {}", f.peak_concurrency), "; ");
    out.push_str(&l.finish());

    let o = &f.occupancy;
    let mut l = Lines::new("environments", LABEL + 2);
    l.push(format!("mean busy {}", mean(o.mean_busy)), "");
    if o.mean_alive_provisioned > 0.0 {
        l.push(
            format!("(provisioned {})", mean(o.mean_busy_provisioned)),
            " ",
        );
    }
    l.push(format!("idle {}", mean(o.mean_idle)), ", ");
    l.push(format!("alive {}", mean(o.mean_alive)), ", ");
    if o.mean_alive_provisioned > 0.0 {
        l.push(
            format!("(provisioned {})", mean(o.mean_alive_provisioned)),
            " ",
        );
    }
    l.push(
        format!("utilisation {}%", mean(o.utilisation * 100.0)),
        "; ",
    );
    out.push_str(&l.finish());

    let p = &f.pings;
    if p.sent > 0 {
        let mut l = Lines::new("warmer pings", LABEL + 2);
        l.push(format!("{} sent (not in the figures above)", p.sent), "");
        l.push(format!("cold {}", p.cold_starts), ": ");
        l.push(format!("warm {}", p.warm_starts), ", ");
        l.push(format!("throttled {}", p.throttled), ", ");
        l.push(format!("failed {}", p.failed), ", ");
        out.push_str(&l.finish());
    }

    if let Some(a) = &f.async_events {
        let mut l = Lines::new("async events", LABEL + 2);
        l.push(format!("{} enqueued", a.enqueued), "");
        l.push(
            format!(
                "delivered {} (first attempt {}, after retries {})",
                a.delivered_first_attempt + a.delivered_after_retries,
                a.delivered_first_attempt,
                a.delivered_after_retries
            ),
            ": ",
        );
        l.push(
            format!(
                "failed {} (RetriesExhausted {}, EventAgeExceeded {}, reserved 0: {})",
                a.failed_retries_exhausted
                    + a.failed_event_age_exceeded
                    + a.failed_zero_reserved_concurrency,
                a.failed_retries_exhausted,
                a.failed_event_age_exceeded,
                a.failed_zero_reserved_concurrency
            ),
            ", ",
        );
        l.push(format!("pending {}", a.pending_at_end), ", ");
        l.push(format!("{} attempts", a.attempts), "; ");
        l.push(if a.conservation_ok() { "✓" } else { "✗" }.to_string(), " ");
        out.push_str(&l.finish());
        percentile_row(out, "queue delay", &a.queue_delay_ms);
        percentile_row(out, "event latency", &a.event_latency_ms);
    }

    if !f.provisioned_changes.is_empty() {
        let mut l = Lines::new("provisioned", LABEL + 2);
        let n = f.provisioned_changes.len();
        l.push(
            format!("configured {n} time{}:", if n == 1 { "" } else { "s" }),
            "",
        );
        const SHOWN: usize = 8;
        for (i, &(t, count)) in f.provisioned_changes.iter().take(SHOWN).enumerate() {
            l.push(
                format!("{count} at {} s", secs(t)),
                if i == 0 { " " } else { ", " },
            );
        }
        if n > SHOWN {
            l.push(format!("… ({} more in the JSON report)", n - SHOWN), ", ");
        }
        out.push_str(&l.finish());
    }

    let s = &f.sandboxes;
    let mut l = Lines::new("sandboxes", LABEL + 2);
    l.push(
        format!(
            "created {} ({} provisioned)",
            s.created, s.created_provisioned
        ),
        "",
    );
    l.push(format!("destroyed {}:", s.destroyed_total()), "; ");
    for (i, r) in DestroyReason::ALL.into_iter().enumerate() {
        l.push(
            format!("{} {}", r.as_str(), s.destroyed(r)),
            if i == 0 { " " } else { ", " },
        );
    }
    if s.created != s.destroyed_total() {
        l.push(
            format!(
                "{} never reported destroyed",
                s.created.abs_diff(s.destroyed_total())
            ),
            "; ",
        );
    }
    if s.provisioned_inits > 0 {
        l.push(format!("{} provisioned inits", s.provisioned_inits), "; ");
    }
    if s.prewarms > 0 {
        l.push(
            format!("{} pre-warmed (hybrid keep-alive)", s.prewarms),
            "; ",
        );
    }
    out.push_str(&l.finish());

    // Snapshot lines only where snapshots are in play, so other summaries read as before.
    let snapshot = f.config.as_ref().is_some_and(|c| c.snapshot)
        || f.cost.snapshot_cache > 0.0
        || f.cost.snapshot_restore > 0.0;
    let c = &f.cost;
    let mut l = Lines::new("cost", LABEL + 2);
    l.push(format!("{} =", usd(c.total)), "");
    l.push(format!("requests {}", usd(c.requests)), " ");
    l.push(format!("duration {}", usd(c.duration)), " + ");
    l.push(
        format!("PC capacity {}", usd(c.provisioned_capacity)),
        " + ",
    );
    l.push(
        format!("PC duration {}", usd(c.provisioned_duration)),
        " + ",
    );
    if snapshot {
        l.push(format!("snapshot cache {}", usd(c.snapshot_cache)), " + ");
        l.push(format!("restores {}", usd(c.snapshot_restore)), " + ");
    }
    out.push_str(&l.finish());

    let g = &f.gb_s;
    let mut l = Lines::new("GB-s", LABEL + 2);
    l.push(format!("on-demand {}", num(g.on_demand)), "");
    l.push(
        format!(
            "provisioned {} (init {})",
            num(g.provisioned_invocations),
            num(g.provisioned_init)
        ),
        ", ",
    );
    l.push(format!("capacity {}", num(g.provisioned_capacity)), ", ");
    l.push(
        format!(
            "idle {} on-demand + {} provisioned (not billed)",
            num(g.idle_on_demand),
            num(g.idle_provisioned)
        ),
        "; ",
    );
    if snapshot {
        l.push(
            format!(
                "snapshot cache {} (min 3 h), restored {} GB",
                num(g.snapshot_cache),
                num(g.snapshot_restored_gb)
            ),
            "; ",
        );
    }
    out.push_str(&l.finish());
}

/// One row of percentiles (ms) under the latency table's columns.
fn percentile_row(out: &mut String, label: &str, p: &Percentiles) {
    let _ = writeln!(
        out,
        "  {:<LABEL$}{:>10}{:>12}{:>12}{:>12}{:>12}{:>12}{:>12}",
        label,
        p.count,
        format!("{:.3}", p.p50),
        format!("{:.3}", p.p90),
        format!("{:.3}", p.p99),
        format!("{:.3}", p.p999),
        format!("{:.3}", p.max),
        format!("{:.3}", p.mean),
    );
}

/// A simulated SQS queue: what came in, how it ended, batches, latency, depth.
fn queue(out: &mut String, q: &super::QueueReport) {
    let _ = writeln!(out, "queue {} · SQS standard", q.name);
    let mut l = Lines::new("messages", LABEL + 2);
    l.push(format!("{} sent", q.sent), "");
    l.push(format!("deleted {}", q.deleted), ": ");
    l.push(format!("redriven {}", q.redriven), ", ");
    l.push(format!("expired {}", q.expired), ", ");
    l.push(format!("remaining {}", q.remaining), ", ");
    l.push(if q.conservation_ok() { "✓" } else { "✗" }.to_string(), " ");
    out.push_str(&l.finish());
    let mut l = Lines::new("batches", LABEL + 2);
    l.push(
        format!("{} ({} messages received)", q.batches, q.received),
        "",
    );
    l.push(
        format!(
            "size p50 {} p99 {} max {}",
            num(q.batch_size.p50),
            num(q.batch_size.p99),
            num(q.batch_size.max)
        ),
        "; ",
    );
    l.push(format!("peak depth {}", q.peak_depth), "; ");
    out.push_str(&l.finish());
    let _ = writeln!(
        out,
        "  {:<LABEL$}{:>10}{:>12}{:>12}{:>12}{:>12}{:>12}{:>12}",
        "latency ms", "count", "p50", "p90", "p99", "p99.9", "max", "mean"
    );
    percentile_row(out, "sent→deleted", &q.message_latency_ms);
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_means_keep_four_significant_digits() {
        assert_eq!(super::mean(0.0), "0");
        assert_eq!(super::mean(2.25651), "2.257");
        assert_eq!(super::mean(0.0691), "0.0691");
        assert_eq!(super::mean(0.000018342), "0.00001834");
    }
}
