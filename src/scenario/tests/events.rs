//! Event sources in scenario files: `event_invoke_config`, `[[queue]]`, `[[event_source]]`, queue and `Event`
//! traffic phases — every key with its value or default, and every check's message and position.

use std::path::Path;

use super::{PATH, err, ok};
use crate::scenario::{
    EventInvokeConfig, EventSourceSpec, InvocationType, Pattern, PayloadSpec, QueueSpec, Target,
    parse,
};

const S: u64 = 1_000_000_000;
const MIN: u64 = 60 * S;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;

/// Two functions: `api` (timeout 3 s) and `worker` (timeout 20 s).
const BASE: &str = r#"
[simulation]
duration = "10m"

[[function]]
name = "api"
code = "functions/hello"

[[function]]
name = "worker"
code = "functions/hello"
timeout = 20
"#;

fn with(extra: &str) -> String {
    format!("{BASE}{extra}\n")
}

/// Asserts the error's message and that it points at the last occurrence of `needle` (the part under test is
/// appended after `BASE`).
pub(super) fn assert_err_at_last(text: &str, needle: &str, message: &str) {
    let e = err(text);
    assert_eq!(e.message, message, "full error: {e}");
    let at = text
        .rfind(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in text"));
    assert_eq!(
        (e.line, e.column),
        super::super::error::line_col(text, at),
        "position of {needle:?} in error: {e}"
    );
    assert_eq!(e.file, PATH);
}

#[test]
fn every_key_with_its_value() {
    let s = ok(&with(
        r#"event_invoke_config = { maximum_retry_attempts = 0, maximum_event_age = "90s", on_success = "ok-events", on_failure = "failed_events" }

[[queue]]
name = "orders"
visibility_timeout = "3m"
message_retention = "2d"
dead_letter_queue = "orders-dlq"
max_receive_count = 5

[[queue]]
name = "orders-dlq"

[[event_source]]
queue = "orders"
function = "worker"
batch_size = 100
batching_window = "2s"
maximum_concurrency = 10
report_batch_item_failures = true
enabled = false

[[event_source]]
queue = "orders-dlq"
function = "worker"

[[traffic]]
function = "worker"
invocation = "event"
pattern = "poisson"
rate = 10

[[traffic]]
queue = "orders"
pattern = "spike"
count = 5000
payload = '{"order":1}'

[[traffic]]
function = "api"
invocation = "request_response"
pattern = "constant"
rate = 1
"#,
    ));
    assert_eq!(
        s.functions[1].event_invoke_config,
        EventInvokeConfig {
            maximum_retry_attempts: 0,
            maximum_event_age_ns: 90 * S,
            on_success: Some("ok-events".into()),
            on_failure: Some("failed_events".into()),
        }
    );
    assert_eq!(
        s.queues,
        vec![
            QueueSpec {
                name: "orders".into(),
                visibility_timeout_ns: 3 * MIN,
                retention_ns: 2 * DAY,
                dead_letter_queue: Some(1),
                max_receive_count: Some(5),
            },
            QueueSpec {
                name: "orders-dlq".into(),
                visibility_timeout_ns: 30 * S,
                retention_ns: 4 * DAY,
                dead_letter_queue: None,
                max_receive_count: None,
            },
        ]
    );
    assert_eq!(
        s.event_sources,
        vec![
            EventSourceSpec {
                queue: 0,
                function: 1,
                batch_size: 100,
                batching_window_ns: 2 * S,
                maximum_concurrency: Some(10),
                report_batch_item_failures: true,
                enabled: false,
            },
            // The worker's 20 s timeout fits the DLQ's default 30 s visibility timeout.
            EventSourceSpec {
                queue: 1,
                function: 1,
                batch_size: 10,
                batching_window_ns: 0,
                maximum_concurrency: None,
                report_batch_item_failures: false,
                enabled: true,
            },
        ]
    );
    let t = &s.traffic;
    assert_eq!(
        (t[0].target, t[0].invocation, t[0].function()),
        (Target::Function(1), InvocationType::Event, Some(1))
    );
    assert_eq!(
        (t[1].target, t[1].invocation, t[1].function()),
        (Target::Queue(0), InvocationType::RequestResponse, None)
    );
    assert_eq!(
        t[1].pattern,
        Pattern::Spike {
            count: 5000,
            window_ns: 0
        }
    );
    assert_eq!(t[1].payload, PayloadSpec::Fixed(r#"{"order":1}"#.into()));
    assert_eq!(
        (t[2].target, t[2].invocation),
        (Target::Function(0), InvocationType::RequestResponse)
    );
    assert!(s.uses_events());
}

#[test]
fn defaults() {
    let s = ok(&with(
        "\n[[queue]]\nname = \"q\"\n\n[[event_source]]\nqueue = \"q\"\nfunction = \"worker\"\n",
    ));
    for f in &s.functions {
        assert_eq!(
            f.event_invoke_config,
            EventInvokeConfig {
                maximum_retry_attempts: 2,
                maximum_event_age_ns: 6 * HOUR,
                on_success: None,
                on_failure: None,
            }
        );
    }
    let q = &s.queues[0];
    assert_eq!((q.visibility_timeout_ns, q.retention_ns), (30 * S, 4 * DAY));
    assert_eq!((q.dead_letter_queue, q.max_receive_count), (None, None));
    let m = &s.event_sources[0];
    assert_eq!((m.batch_size, m.batching_window_ns), (10, 0));
    assert_eq!(m.maximum_concurrency, None);
    assert!(!m.report_batch_item_failures);
    assert!(m.enabled);
    // An empty inline table is the default configuration too.
    let s = ok(&with("event_invoke_config = {}"));
    assert_eq!(s.functions[1].event_invoke_config.maximum_retry_attempts, 2);
}

#[test]
fn a_scenario_without_event_sources_uses_none() {
    let s = ok(&with(
        "\n[[traffic]]\nfunction = \"api\"\npattern = \"poisson\"\nrate = 1\n",
    ));
    assert!(s.queues.is_empty() && s.event_sources.is_empty());
    assert!(!s.uses_events());
    // An Event phase alone (no queue) counts.
    let s = ok(&with(
        "\n[[traffic]]\nfunction = \"api\"\ninvocation = \"event\"\npattern = \"poisson\"\nrate = 1\n",
    ));
    assert!(s.uses_events());
}

#[test]
fn range_boundaries_are_accepted() {
    let s = ok(&with(
        r#"event_invoke_config = { maximum_event_age = 21600 }

[[queue]]
name = "q"
visibility_timeout = "12h"
message_retention = 60
dead_letter_queue = "d"
max_receive_count = 1000

[[queue]]
name = "d"
visibility_timeout = 0
message_retention = "14d"

[[event_source]]
queue = "q"
function = "worker"
batch_size = 10000
batching_window = "1s"
maximum_concurrency = 1000
"#,
    ));
    assert_eq!(
        s.functions[1].event_invoke_config.maximum_event_age_ns,
        6 * HOUR
    );
    assert_eq!(
        (s.queues[0].visibility_timeout_ns, s.queues[0].retention_ns),
        (12 * HOUR, MIN)
    );
    assert_eq!(s.queues[0].max_receive_count, Some(1000));
    assert_eq!(
        (s.queues[1].visibility_timeout_ns, s.queues[1].retention_ns),
        (0, 14 * DAY)
    );
    assert_eq!(s.event_sources[0].batch_size, 10_000);
    let s = ok(&with(
        "event_invoke_config = { maximum_event_age = \"1m\" }\n\n[[queue]]\nname = \"q\"\n\n[[event_source]]\nqueue = \"q\"\nfunction = \"worker\"\nbatch_size = 1\nmaximum_concurrency = 2\n",
    ));
    assert_eq!(s.functions[1].event_invoke_config.maximum_event_age_ns, MIN);
    assert_eq!(
        (
            s.event_sources[0].batch_size,
            s.event_sources[0].maximum_concurrency
        ),
        (1, Some(2))
    );
}

#[test]
fn event_invoke_config_errors() {
    assert_err_at_last(
        &with("event_invoke_config = { maximum_retry_attempts = 3 }"),
        "3 }",
        "function \"worker\": event_invoke_config.maximum_retry_attempts = 3 is outside the allowed range 0–2",
    );
    assert_err_at_last(
        &with("event_invoke_config = { maximum_retry_attempts = -1 }"),
        "-1",
        "function \"worker\": event_invoke_config.maximum_retry_attempts = -1 is outside the allowed range 0–2",
    );
    assert_err_at_last(
        &with("event_invoke_config = { maximum_event_age = \"59s\" }"),
        "\"59s\"",
        "function \"worker\": event_invoke_config.maximum_event_age = \"59s\" is outside the allowed range 60 s–6 h \
         (21,600 s)",
    );
    assert_err_at_last(
        &with("event_invoke_config = { maximum_event_age = 21601 }"),
        "21601",
        "function \"worker\": event_invoke_config.maximum_event_age = 21601 is outside the allowed range 60 s–6 h \
         (21,600 s)",
    );
    assert_err_at_last(
        &with("event_invoke_config = { maximum_event_age = \"soon\" }"),
        "\"soon\"",
        "function \"worker\": event_invoke_config.maximum_event_age = \"soon\" is not a duration (expected number \
         at 0); write e.g. \"90s\", \"10m\", \"1h 30m\", \"250ms\" or a number of seconds",
    );
    assert_err_at_last(
        &with("event_invoke_config = { on_success = \"ok events\" }"),
        "\"ok events\"",
        "function \"worker\": event_invoke_config.on_success = \"ok events\" must be 1–64 characters of A–Z, a–z, \
         0–9, - and _",
    );
    assert_err_at_last(
        &with("event_invoke_config = { on_failure = \"\" }"),
        "\"\"",
        "function \"worker\": event_invoke_config.on_failure = \"\" must be 1–64 characters of A–Z, a–z, 0–9, - and _",
    );
    let long = "x".repeat(65);
    assert_err_at_last(
        &with(&format!(
            "event_invoke_config = {{ on_failure = \"{long}\" }}"
        )),
        &format!("\"{long}\""),
        &format!(
            "function \"worker\": event_invoke_config.on_failure = \"{long}\" must be 1–64 characters of A–Z, a–z, \
             0–9, - and _"
        ),
    );
    let e = err(&with("event_invoke_config = { retries = 1 }"));
    assert!(e.message.contains("unknown field `retries`"), "{e}");
}

#[test]
fn queue_errors() {
    assert_err_at_last(
        &with("\n[[queue]]\nvisibility_timeout = 5"),
        "[[queue]]",
        "queue: name is required",
    );
    assert_err_at_last(
        &with("\n[[queue]]\nname = \"my queue\""),
        "\"my queue\"",
        "queue name \"my queue\" must be 1–80 characters of A–Z, a–z, 0–9, - and _",
    );
    let text = with("\n[[queue]]\nname = \"q\"\n\n[[queue]]\nname = \"q\"");
    let first = super::pos(&text, "name = \"q\"").0;
    assert_err_at_last(
        &text,
        "\"q\"",
        &format!("queue \"q\" is declared twice (first at line {first})"),
    );
    assert_err_at_last(
        &with("\n[[queue]]\nname = \"q\"\nvisibility_timeout = \"12h 1s\""),
        "\"12h 1s\"",
        "queue \"q\": visibility_timeout = \"12h 1s\" is outside the allowed range 0 s–12 h (43,200 s)",
    );
    assert_err_at_last(
        &with("\n[[queue]]\nname = \"q\"\nmessage_retention = 59"),
        "59",
        "queue \"q\": message_retention = 59 is outside the allowed range 60 s–14 days (1,209,600 s)",
    );
    assert_err_at_last(
        &with("\n[[queue]]\nname = \"q\"\nmessage_retention = \"15d\""),
        "\"15d\"",
        "queue \"q\": message_retention = \"15d\" is outside the allowed range 60 s–14 days (1,209,600 s)",
    );
    assert_err_at_last(
        &with(
            "\n[[queue]]\nname = \"q\"\ndead_letter_queue = \"d\"\nmax_receive_count = 0\n\n[[queue]]\nname = \"d\"",
        ),
        "0\n",
        "queue \"q\": max_receive_count = 0 is outside the allowed range 1–1000 receives",
    );
    assert_err_at_last(
        &with(
            "\n[[queue]]\nname = \"q\"\ndead_letter_queue = \"d\"\nmax_receive_count = 1001\n\n[[queue]]\nname = \"d\"",
        ),
        "1001",
        "queue \"q\": max_receive_count = 1001 is outside the allowed range 1–1000 receives",
    );
    let e = err(&with("\n[[queue]]\nname = \"q\"\ndelay = 5"));
    assert!(e.message.contains("unknown field `delay`"), "{e}");
    let e = err(&format!("queue = \"q\"\n{BASE}"));
    assert!(
        e.message.contains("write [[queue]], with double brackets"),
        "{e}"
    );
}

#[test]
fn redrive_policy_errors() {
    assert_err_at_last(
        &with("\n[[queue]]\nname = \"q\"\ndead_letter_queue = \"d\"\n\n[[queue]]\nname = \"d\""),
        "\"d\"\n\n",
        "queue \"q\": dead_letter_queue needs max_receive_count (1–1000: how many receives before a message moves \
         to the dead-letter queue; 5 or more is recommended)",
    );
    assert_err_at_last(
        &with("\n[[queue]]\nname = \"q\"\nmax_receive_count = 5"),
        "5",
        "queue \"q\": max_receive_count applies only with dead_letter_queue (a redrive policy needs both)",
    );
    assert_err_at_last(
        &with("\n[[queue]]\nname = \"q\"\ndead_letter_queue = \"q\"\nmax_receive_count = 5"),
        "\"q\"",
        "queue \"q\": dead_letter_queue \"q\" is the queue itself; name another [[queue]]",
    );
    assert_err_at_last(
        &with(
            "\n[[queue]]\nname = \"q\"\ndead_letter_queue = \"dlq\"\nmax_receive_count = 5\n\n[[queue]]\nname = \"d\"",
        ),
        "\"dlq\"",
        "queue \"q\": dead_letter_queue \"dlq\" is not declared (declared: q, d)",
    );
}

/// One queue `q` (visibility timeout 30 s) and one `[[event_source]]` with `body`.
fn mapping(body: &str) -> String {
    with(&format!(
        "\n[[queue]]\nname = \"q\"\n\n[[event_source]]\n{body}"
    ))
}

#[test]
fn event_source_errors() {
    assert_err_at_last(
        &mapping("function = \"worker\""),
        "[[event_source]]",
        "event_source[0]: queue is required (the [[queue]] to poll)",
    );
    assert_err_at_last(
        &mapping("queue = \"q\""),
        "[[event_source]]",
        "event_source[0]: function is required (the [[function]] to invoke)",
    );
    assert_err_at_last(
        &mapping("queue = \"orders\"\nfunction = \"worker\""),
        "\"orders\"",
        "event_source[0]: queue \"orders\" is not declared (declared: q)",
    );
    assert_err_at_last(
        &mapping("queue = \"q\"\nfunction = \"wrker\""),
        "\"wrker\"",
        "event_source[0]: function \"wrker\" is not declared (declared: api, worker)",
    );
    assert_err_at_last(
        &mapping("queue = \"q\"\nfunction = \"worker\"\nbatch_size = 0"),
        "0",
        "event_source[0]: batch_size = 0 is outside the allowed range 1–10000 messages",
    );
    assert_err_at_last(
        &mapping("queue = \"q\"\nfunction = \"worker\"\nbatch_size = 10001\nbatching_window = 1"),
        "10001",
        "event_source[0]: batch_size = 10001 is outside the allowed range 1–10000 messages",
    );
    assert_err_at_last(
        &mapping("queue = \"q\"\nfunction = \"worker\"\nbatching_window = \"5m 1s\""),
        "\"5m 1s\"",
        "event_source[0]: batching_window = \"5m 1s\" is outside the allowed range 0–300 s",
    );
    assert_err_at_last(
        &mapping("queue = \"q\"\nfunction = \"worker\"\nmaximum_concurrency = 1"),
        "1",
        "event_source[0]: maximum_concurrency = 1 is outside the allowed range 2–1000",
    );
    assert_err_at_last(
        &mapping("queue = \"q\"\nfunction = \"worker\"\nmaximum_concurrency = 1001"),
        "1001",
        "event_source[0]: maximum_concurrency = 1001 is outside the allowed range 2–1000",
    );
    let e = err(&mapping(
        "queue = \"q\"\nfunction = \"worker\"\nbisect_batch = true",
    ));
    assert!(e.message.contains("unknown field `bisect_batch`"), "{e}");
}

#[test]
fn batches_above_ten_need_a_batching_window() {
    assert_err_at_last(
        &mapping("queue = \"q\"\nfunction = \"worker\"\nbatch_size = 11"),
        "11",
        "event_source[0]: batch_size = 11 needs batching_window ≥ 1s (Lambda requires a batching window of at \
         least 1 s for batches larger than 10); batching_window is 0s",
    );
    assert_err_at_last(
        &mapping(
            "queue = \"q\"\nfunction = \"worker\"\nbatch_size = 500\nbatching_window = \"999ms\"",
        ),
        "500",
        "event_source[0]: batch_size = 500 needs batching_window ≥ 1s (Lambda requires a batching window of at \
         least 1 s for batches larger than 10); batching_window is 999ms",
    );
    let s = ok(&mapping(
        "queue = \"q\"\nfunction = \"worker\"\nbatch_size = 10",
    ));
    assert_eq!(s.event_sources[0].batch_size, 10);
}

#[test]
fn one_mapping_per_queue_and_function() {
    let text = mapping(
        "queue = \"q\"\nfunction = \"worker\"\n\n[[event_source]]\nqueue = \"q\"\nfunction = \"api\"\n\n\
         [[event_source]]\nqueue = \"q\"\nfunction = \"worker\"\nbatch_size = 5",
    );
    assert_err_at_last(
        &text,
        "\"q\"",
        "event_source[2]: queue \"q\" is already mapped to function \"worker\" by event_source[0]; one mapping per \
         queue and function",
    );
}

#[test]
fn the_function_timeout_must_fit_the_visibility_timeout() {
    let text = with(
        "\n[[queue]]\nname = \"q\"\nvisibility_timeout = \"19s\"\n\n[[event_source]]\nqueue = \"q\"\nfunction = \"worker\"",
    );
    assert_err_at_last(
        &text,
        "\"worker\"",
        "event_source[0]: function \"worker\" has timeout 20s, longer than queue \"q\"'s visibility_timeout 19s; \
         Lambda refuses such a mapping (the function timeout must not exceed the queue's visibility timeout; AWS \
         recommends at least 6 × the timeout)",
    );
    // Equal is allowed; disabled mappings are checked too (AWS checks at create and update).
    let s = ok(&with(
        "\n[[queue]]\nname = \"q\"\nvisibility_timeout = 20\n\n[[event_source]]\nqueue = \"q\"\nfunction = \"worker\"",
    ));
    assert_eq!(s.event_sources.len(), 1);
    let e = err(&with(
        "\n[[queue]]\nname = \"q\"\nvisibility_timeout = 19\n\n[[event_source]]\nqueue = \"q\"\nfunction = \"worker\"\nenabled = false",
    ));
    assert!(e.message.contains("Lambda refuses such a mapping"), "{e}");
}

/// One queue `q` and one `[[traffic]]` with `body`.
fn phase(body: &str) -> String {
    with(&format!("\n[[queue]]\nname = \"q\"\n\n[[traffic]]\n{body}"))
}

#[test]
fn traffic_target_errors() {
    assert_err_at_last(
        &phase("function = \"api\"\nqueue = \"q\"\npattern = \"poisson\"\nrate = 1"),
        "\"q\"",
        "traffic[0]: function and queue are mutually exclusive; a phase either invokes a function or sends \
         messages to a queue",
    );
    assert_err_at_last(
        &phase("pattern = \"poisson\"\nrate = 1"),
        "[[traffic]]",
        "traffic[0]: function or queue is required (the [[function]] to invoke or the [[queue]] to send messages to)",
    );
    assert_err_at_last(
        &phase("queue = \"orders\"\npattern = \"poisson\"\nrate = 1"),
        "\"orders\"",
        "traffic[0]: queue \"orders\" is not declared (declared: q)",
    );
    assert_err_at_last(
        &with("\n[[traffic]]\nqueue = \"orders\"\npattern = \"poisson\"\nrate = 1"),
        "\"orders\"",
        "traffic[0]: queue \"orders\" is not declared (no [[queue]] is declared)",
    );
    assert_err_at_last(
        &phase("queue = \"q\"\ninvocation = \"event\"\npattern = \"poisson\"\nrate = 1"),
        "\"event\"",
        "traffic[0]: invocation applies only to a phase that invokes a function; this phase sends messages to \
         queue \"q\"",
    );
    assert_err_at_last(
        &phase("function = \"api\"\ninvocation = \"event\"\npattern = \"closed_loop\"\nusers = 3"),
        "\"closed_loop\"",
        "traffic[0]: pattern \"closed_loop\" waits for each response, but an event invocation is answered at once; \
         use an open-loop pattern",
    );
    assert_err_at_last(
        &phase("queue = \"q\"\npattern = \"closed_loop\"\nusers = 3"),
        "\"closed_loop\"",
        "traffic[0]: pattern \"closed_loop\" waits for each response, but a message sent to a queue is answered at \
         once; use an open-loop pattern",
    );
    let e = err(&phase(
        "function = \"api\"\ninvocation = \"Event\"\npattern = \"poisson\"\nrate = 1",
    ));
    assert!(
        e.message
            .contains("unknown variant `Event`, expected `request_response` or `event`"),
        "{e}"
    );
}

#[test]
fn a_replay_trace_for_a_queue_names_the_queue() {
    let dir = std::env::temp_dir().join(format!("lsim-events-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let trace = dir.join("trace.csv");
    std::fs::write(&trace, "0.5,q\n1.0,orders\n").unwrap_or_else(|e| panic!("{e}"));
    let s = match parse(
        &phase(&format!(
            "queue = \"q\"\npattern = \"replay\"\nfile = \"{}\"",
            trace.display()
        )),
        Path::new(PATH),
    ) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let e = match crate::traffic::TrafficGenerator::new(&s) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        e.message,
        "queue \"orders\" does not match this traffic phase's queue \"q\""
    );
    assert_eq!((e.line, e.column), (2, 5));
}
