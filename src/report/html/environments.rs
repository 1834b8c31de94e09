//! The time-averaged environments section: per variant and function (and in total), the mean busy, idle and alive
//! execution environments over the run — on-demand and provisioned apart — and the utilisation.

use super::Table;
use super::page::table;
use crate::report::{FunctionReport, RunReport};

/// The section, with one row per variant × function, then the variant's total when it has several functions.
pub(super) fn environments(out: &mut String, variants: &[(String, &RunReport)]) {
    out.push_str(
        "<section id=\"environments\">\n<h2>Environments, averaged over time</h2>\n\
         <p>Exact time integrals over the run: the mean number of execution environments running an invocation \
         (busy), waiting initialized (idle) and alive (busy, idle or initializing), of which provisioned; \
         utilisation is busy ÷ alive.</p>\n",
    );
    let headers = [
        "variant",
        "function",
        "mean busy",
        "of which provisioned",
        "mean idle",
        "mean alive",
        "of which provisioned",
        "utilisation %",
    ];
    let mut rows = Vec::new();
    for (name, r) in variants {
        for f in &r.functions {
            rows.push(row(name, f));
        }
        if r.functions.len() > 1 {
            rows.push(row(name, &r.total));
        }
    }
    table(out, &Table::new(&headers, rows));
    out.push_str("</section>\n");
}

fn row(variant: &str, f: &FunctionReport) -> Vec<String> {
    let o = &f.occupancy;
    vec![
        variant.to_string(),
        f.name.clone(),
        format!("{:.3}", o.mean_busy),
        format!("{:.3}", o.mean_busy_provisioned),
        format!("{:.3}", o.mean_idle),
        format!("{:.3}", o.mean_alive),
        format!("{:.3}", o.mean_alive_provisioned),
        format!("{:.1}", o.utilisation * 100.0),
    ]
}
