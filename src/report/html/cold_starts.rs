//! The cold-start section: cold-start latency taken apart — placement, code download, init (the runtime's
//! start-up and the function's init code) or restore, and the invocation — so a reader sees which piece a
//! mitigation attacks.

use super::Table;
use super::page::table;
use crate::report::{ColdStartSummary, FunctionReport, Percentiles, RunReport};

/// Above this many functions a variant shows only its total.
const MAX_FUNCTIONS: usize = 10;

/// The section (absent when no variant had a cold start).
pub(super) fn cold_starts(out: &mut String, variants: &[(String, &RunReport)]) {
    let mut rows = Vec::new();
    for (name, r) in variants {
        let each = r.functions.len() <= MAX_FUNCTIONS;
        if each {
            for f in &r.functions {
                piece_rows(&mut rows, name, f);
            }
        }
        if !each || r.functions.len() > 1 {
            piece_rows(&mut rows, name, &r.total);
        }
    }
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"cold-starts\">\n<h2>Cold starts taken apart</h2>\n\
         <p>End-to-end latency of a cold start is placement + code download + init (the runtime's start-up, \
         then the function's init code) or a snapshot restore + the invocation. Placement, download and the \
         runtime's start-up are modelled; init code and the invocation are run. Provisioned concurrency takes \
         every piece off the request path; a snapshot replaces init with a restore.</p>\n",
    );
    let headers = [
        "variant", "function", "piece", "count", "p50 ms", "p90 ms", "p99 ms", "mean ms",
    ];
    table(out, &Table::new(&headers, rows));
    out.push_str("</section>\n");
}

fn piece_rows(rows: &mut Vec<Vec<String>>, variant: &str, f: &FunctionReport) {
    let l = &f.latency;
    let Some(c) = l.cold_start.filter(|_| l.cold.count > 0) else {
        return;
    };
    let ColdStartSummary {
        placement,
        download,
        runtime,
        function_init,
        invocation,
    } = c;
    let mut pieces = vec![
        ("cold start (end to end)", l.cold),
        ("placement", placement),
        ("download", download),
    ];
    if l.init.count > 0 {
        pieces.extend([
            ("init: runtime start-up", runtime),
            ("init: function code", function_init),
        ]);
    }
    if l.restore.count > 0 {
        pieces.push(("restore", l.restore));
    }
    pieces.push(("invocation", invocation));
    for (piece, p) in pieces {
        rows.push(row(variant, &f.name, piece, &p));
    }
}

fn row(variant: &str, function: &str, piece: &str, p: &Percentiles) -> Vec<String> {
    vec![
        variant.to_string(),
        function.to_string(),
        piece.to_string(),
        p.count.to_string(),
        format!("{:.3}", p.p50),
        format!("{:.3}", p.p90),
        format!("{:.3}", p.p99),
        format!("{:.3}", p.mean),
    ]
}
