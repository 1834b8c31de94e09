//! Warmers and dynamic provisioned concurrency in scenario files: values, defaults, generated ping phases, and
//! every error with its position.

use super::{HEADER, assert_err, ok};
use crate::scenario::{Pattern, PayloadSpec, TargetTracking};

const S: u64 = 1_000_000_000;

#[test]
fn a_warmer_becomes_a_ping_phase_after_the_files_phases() {
    let text = format!(
        "{HEADER}warmer = {{ every = \"5m\", concurrency = 3 }}\n\n[[traffic]]\nfunction = \"api\"\npattern = \"poisson\"\nrate = 1\n"
    );
    let s = ok(&text);
    let w = s.functions[0]
        .warmer
        .as_ref()
        .unwrap_or_else(|| panic!("no warmer"));
    assert_eq!((w.every_ns, w.concurrency), (300 * S, 3));
    assert_eq!(s.traffic.len(), 2);
    assert!(!s.traffic[0].ping);
    let ping = &s.traffic[1];
    assert!(ping.ping);
    assert_eq!(ping.function(), Some(0));
    assert_eq!((ping.start_ns, ping.end_ns), (0, 600 * S));
    assert_eq!(
        ping.pattern,
        Pattern::Periodic {
            every_ns: 300 * S,
            count: 3
        }
    );
    assert_eq!(
        ping.payload,
        PayloadSpec::Fixed(super::super::mitigations::WARMER_PAYLOAD.to_string())
    );
}

#[test]
fn warmer_mistakes_are_reported_at_the_value() {
    assert_err(
        &format!("{HEADER}warmer = {{ concurrency = 2 }}\n"),
        "{ concurrency",
        "function \"api\": warmer.every is required (e.g. every = \"5m\")",
    );
    assert_err(
        &format!("{HEADER}warmer = {{ every = \"5m\", concurrency = 0 }}\n"),
        "0 }",
        "function \"api\": warmer.concurrency = 0 is outside the allowed range 1–1000",
    );
    let e = super::err(&format!(
        "{HEADER}warmer = {{ every = \"5m\", payload = '{{nope' }}\n"
    ));
    assert!(
        e.message
            .starts_with("function \"api\": warmer.payload is not valid JSON"),
        "{e}"
    );
}

#[test]
fn a_provisioned_schedule_is_a_list_of_timed_counts() {
    let s = ok(&format!(
        "{HEADER}provisioned_schedule = [{{ at = \"1m\", count = 5 }}, {{ at = \"6m\", count = 0 }}]\n"
    ));
    assert_eq!(
        s.functions[0].provisioned_schedule,
        vec![(60 * S, 5), (360 * S, 0)]
    );
    assert_eq!(s.functions[0].provisioned_autoscaling, None);
}

#[test]
fn schedule_mistakes_are_reported_at_the_value() {
    assert_err(
        &format!(
            "{HEADER}provisioned_schedule = [{{ at = \"5m\", count = 5 }}, {{ at = \"2m\", count = 0 }}]\n"
        ),
        "\"2m\"",
        "function \"api\": provisioned_schedule[1].at = \"2m\" must be later than the previous action's",
    );
    assert_err(
        &format!(
            "{HEADER}reserved_concurrency = 10\nprovisioned_schedule = [{{ at = \"5m\", count = 11 }}]\n"
        ),
        "11 }",
        "function \"api\": provisioned_schedule[0].count = 11 is outside the allowed range 0–10 (at most the reserved concurrency)",
    );
    assert_err(
        &format!("{HEADER}provisioned_schedule = [{{ count = 1 }}]\n"),
        "{ count",
        "function \"api\": provisioned_schedule[0]: at is required (e.g. at = \"30m\")",
    );
}

#[test]
fn target_tracking_has_awss_alarm_defaults() {
    let s = ok(&format!(
        "{HEADER}provisioned_autoscaling = {{ min = 1, max = 20 }}\n"
    ));
    assert_eq!(
        s.functions[0].provisioned_autoscaling,
        Some(TargetTracking {
            min: 1,
            max: 20,
            target: 0.7,
            scale_out_datapoints: 3,
            scale_in_datapoints: 15,
        })
    );
}

#[test]
fn target_tracking_mistakes_are_reported_at_the_value() {
    assert_err(
        &format!("{HEADER}provisioned_autoscaling = {{ min = 1, max = 20, target = 0.95 }}\n"),
        "0.95",
        "function \"api\": provisioned_autoscaling.target = 0.95 is outside the allowed range 0.1–0.9 (AWS: \"any value between 10% and 90%\")",
    );
    assert_err(
        &format!("{HEADER}provisioned_autoscaling = {{ min = 5, max = 2 }}\n"),
        "2 }",
        "function \"api\": provisioned_autoscaling.max = 2 must be at least 1 and at least min (5)",
    );
    assert_err(
        &format!("{HEADER}provisioned_autoscaling = {{ max = 2 }}\n"),
        "{ max",
        "function \"api\": provisioned_autoscaling: min and max are required (e.g. { min = 1, max = 50, target = 0.7 })",
    );
    assert_err(
        &format!(
            "{HEADER}provisioned_schedule = [{{ at = \"1m\", count = 1 }}]\nprovisioned_autoscaling = {{ min = 1, max = 2 }}\n"
        ),
        "{ min = 1, max = 2 }",
        "function \"api\": provisioned_schedule and provisioned_autoscaling cannot both be set; use one of them",
    );
    assert_err(
        &format!("{HEADER}snapshot = true\nprovisioned_autoscaling = {{ min = 1, max = 2 }}\n"),
        "{ min = 1, max = 2 }",
        "function \"api\": snapshot = true cannot be combined with provisioned concurrency (schedule or auto scaling): Lambda SnapStart does not support provisioned concurrency",
    );
}
