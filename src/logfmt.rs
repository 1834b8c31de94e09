//! Lambda's platform log lines: START, END, REPORT and INIT_REPORT, formatted as CloudWatch shows them.
//!
//! REPORT fields are tab-separated with a trailing tab. Billed Duration is Duration plus Init Duration rounded up to
//! the millisecond: 1 ms granularity since 2020-12, and INIT billed for every configuration since 2025-08-01.
//!
//! A cold start restored from a snapshot (SnapStart) shows `Restore Duration` and `Billed Restore Duration`
//! instead of `Init Duration` (docs/lambda.md §7, source S36). Billed Restore Duration is the time to load the
//! runtime and run after-restore hooks; restoring the snapshot itself is not billed as duration (it is priced
//! per GB restored, §8). lambda-sim has neither a runtime to load nor hooks, so it is always 0 ms and Billed
//! Duration is Duration alone.

use std::fmt::Write as _;

use crate::limits::NS_PER_MS;
use crate::sandbox::{CallReport, Outcome, RequestId};

/// `START RequestId: <id> Version: $LATEST`
pub fn start_line(id: RequestId) -> String {
    format!("START RequestId: {id} Version: $LATEST")
}

/// `END RequestId: <id>`
pub fn end_line(id: RequestId) -> String {
    format!("END RequestId: {id}")
}

/// Billed duration in whole ms: ceil(duration + init), and never less than 1 ms (Lambda's minimum charge).
pub fn billed_ms(duration_ns: u64, init_ns: Option<u64>) -> u64 {
    (duration_ns + init_ns.unwrap_or(0))
        .div_ceil(NS_PER_MS)
        .max(1)
}

/// Linear memory in MB as "Max Memory Used" shows it (rounded up).
pub fn memory_used_mb(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 20)
}

fn ms(ns: u64) -> f64 {
    ns as f64 / NS_PER_MS as f64
}

/// How the cold part of an invocation is shown on its REPORT line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColdPart {
    /// A warm invocation, or a provisioned/suppressed one: nothing extra.
    None,
    /// `Init Duration: X ms` (an on-demand cold start).
    Init(u64),
    /// `Restore Duration: X ms\tBilled Restore Duration: 0 ms` (a snapshot restore).
    Restore(u64),
}

/// The REPORT line of one invocation.
pub fn report_line(id: RequestId, report: &CallReport, memory_mb: u64, cold: ColdPart) -> String {
    let init = match cold {
        ColdPart::Init(ns) => Some(ns),
        ColdPart::Restore(_) | ColdPart::None => None,
    };
    let mut line = format!(
        "REPORT RequestId: {id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {} MB\t",
        ms(report.duration_ns),
        billed_ms(report.duration_ns, init),
        memory_used_mb(report.peak_memory_bytes),
    );
    match cold {
        ColdPart::Init(ns) => {
            let _ = write!(line, "Init Duration: {:.2} ms\t", ms(ns));
        }
        ColdPart::Restore(ns) => {
            let _ = write!(
                line,
                "Restore Duration: {:.2} ms\tBilled Restore Duration: 0 ms\t",
                ms(ns)
            );
        }
        ColdPart::None => {}
    }
    line.push_str(&status_fields(report));
    line
}

/// Every line Lambda logs for one invocation: a failed init's output and INIT_REPORT, a successful init's
/// output, START, the invocation's output, END and REPORT.
pub fn invocation_lines(
    id: RequestId,
    report: &CallReport,
    memory_mb: u64,
    init: Option<&CallReport>,
    failed_init: Option<&CallReport>,
) -> String {
    let cold = init.map_or(ColdPart::None, |i| ColdPart::Init(i.duration_ns));
    cold_invocation_lines(id, report, memory_mb, cold, init, failed_init)
}

/// [`invocation_lines`] with the REPORT's cold part given: `ColdPart::Restore` for a snapshot restore.
pub fn cold_invocation_lines(
    id: RequestId,
    report: &CallReport,
    memory_mb: u64,
    cold: ColdPart,
    init: Option<&CallReport>,
    failed_init: Option<&CallReport>,
) -> String {
    let mut out = String::new();
    for init in [failed_init, init].into_iter().flatten() {
        out.push_str(&String::from_utf8_lossy(&init.log));
    }
    if let Some(failed) = failed_init {
        out.push_str(&init_report_line(failed));
        out.push('\n');
    }
    out.push_str(&start_line(id));
    out.push('\n');
    let log = String::from_utf8_lossy(&report.log);
    out.push_str(&log);
    if !log.is_empty() && !log.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&end_line(id));
    out.push('\n');
    out.push_str(&report_line(id, report, memory_mb, cold));
    out.push('\n');
    out
}

/// `INIT_REPORT Init Duration: X ms\tPhase: init\tStatus: error\tError Type: T\t`: a failed on-demand init.
pub fn init_report_line(report: &CallReport) -> String {
    format!(
        "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\t{}",
        ms(report.duration_ns),
        status_fields(report)
    )
}

/// A guest-chosen value as one field of a platform line: control characters (a newline would start a forged log
/// line, a tab a forged field) are escaped as `\n`, `\t`, `\u{..}`.
fn one_field(value: &str) -> std::borrow::Cow<'_, str> {
    if value.chars().any(char::is_control) {
        value
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        value.into()
    }
}

fn status_fields(report: &CallReport) -> String {
    match (report.outcome, &report.error) {
        (Outcome::Success, _) => String::new(),
        (Outcome::Timeout, _) => "Status: timeout\t".to_string(),
        (_, Some(e)) => format!("Status: error\tError Type: {}\t", one_field(&e.error_type)),
        (_, None) => "Status: error\t".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(duration_ns: u64, outcome: Outcome) -> CallReport {
        CallReport {
            outcome,
            error: None,
            response: bytes::Bytes::new(),
            fuel: 0,
            cpu_ns: duration_ns,
            wait_ns: 0,
            duration_ns,
            suppressed_init_ns: None,
            peak_memory_bytes: 21 << 20,
            log: Vec::new(),
        }
    }

    #[test]
    fn billed_duration_adds_init_and_rounds_up() {
        // AWS's own examples: 3016.78 + 84.00 → 3101; 133.61 + 80.00 → 214.
        assert_eq!(billed_ms(3_016_780_000, Some(84_000_000)), 3101);
        assert_eq!(billed_ms(133_610_000, Some(80_000_000)), 214);
        assert_eq!(billed_ms(27_550_000, None), 28);
    }

    #[test]
    fn report_line_is_tab_separated_with_trailing_tab() {
        let id = RequestId(0x1234);
        let line = report_line(
            id,
            &report(3_071_270_000, Outcome::Timeout),
            128,
            ColdPart::Init(84_000_000),
        );
        assert_eq!(
            line,
            format!(
                "REPORT RequestId: {id}\tDuration: 3071.27 ms\tBilled Duration: 3156 ms\tMemory Size: 128 MB\tMax Memory Used: 21 MB\tInit Duration: 84.00 ms\tStatus: timeout\t"
            )
        );
    }

    #[test]
    fn restore_replaces_init_and_is_not_billed_as_duration() {
        let id = RequestId(0x1234);
        let line = report_line(
            id,
            &report(2_570_000, Outcome::Success),
            1024,
            ColdPart::Restore(409_110_000),
        );
        assert_eq!(
            line,
            format!(
                "REPORT RequestId: {id}\tDuration: 2.57 ms\tBilled Duration: 3 ms\tMemory Size: 1024 MB\tMax Memory Used: 21 MB\tRestore Duration: 409.11 ms\tBilled Restore Duration: 0 ms\t"
            )
        );
        assert!(!line.contains("Init Duration"));
    }

    #[test]
    fn billed_duration_is_at_least_one_millisecond() {
        assert_eq!(billed_ms(0, None), 1);
        assert_eq!(billed_ms(30_000, None), 1);
        assert_eq!(billed_ms(1_000_001, None), 2);
    }

    #[test]
    fn an_error_type_cannot_forge_a_log_line() {
        let id = RequestId(0x1234);
        let mut r = report(2_000_000, Outcome::FunctionError);
        r.error = Some(Box::new(crate::sandbox::ErrorBody::new(
            "Oops\nREPORT RequestId: forged\tDuration: 1 ms",
            "m",
        )));
        let line = report_line(id, &r, 128, ColdPart::None);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(
            line.ends_with(
                "Status: error\tError Type: Oops\\nREPORT RequestId: forged\\tDuration: 1 ms\t"
            ),
            "{line}"
        );
    }
}
