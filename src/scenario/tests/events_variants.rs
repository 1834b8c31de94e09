//! `[[variant]]` overrides of queues (`queue.<name>.<key>`), event source mappings (`event_source.<index>.<key>`)
//! and the event settings of functions and traffic phases: values, the override list and errors with positions.

use std::path::Path;

use super::PATH;
use crate::scenario::{InvocationType, Pattern, ScenarioError, ScenarioFile, Target, parse_file};

const S: u64 = 1_000_000_000;

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

[[queue]]
name = "orders"

[[queue]]
name = "dlq"

[[event_source]]
queue = "orders"
function = "worker"

[[traffic]]
queue = "orders"
pattern = "spike"
count = 100

[[traffic]]
function = "worker"
invocation = "event"
pattern = "poisson"
rate = 5
"#;

fn file(base: &str, extra: &str) -> ScenarioFile {
    let text = format!("{base}{extra}");
    match parse_file(&text, Path::new(PATH)) {
        Ok(f) => f,
        Err(e) => panic!("unexpected error: {e}\n{text}"),
    }
}

fn error(base: &str, extra: &str) -> (ScenarioError, String) {
    let text = format!("{base}{extra}");
    match parse_file(&text, Path::new(PATH)) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => (e, text),
    }
}

#[test]
fn variants_override_queues_mappings_and_event_invoke_config() {
    let f = file(
        BASE,
        r#"
[[variant]]
name = "as-written"

[[variant]]
name = "tuned"
queue.orders.visibility_timeout = "2m"
queue.orders.dead_letter_queue = "dlq"
queue.orders.max_receive_count = 3
event_source.0.batch_size = 50
event_source.0.batching_window = "5s"
event_source.0.report_batch_item_failures = true
function.worker.event_invoke_config.maximum_retry_attempts = 0
"#,
    );
    let (a, b) = (&f.variants[0].scenario, &f.variants[1].scenario);
    assert_eq!(a.queues, f.base.queues);
    assert_eq!(a.event_sources, f.base.event_sources);
    let orders = &b.queues[0];
    assert_eq!(orders.visibility_timeout_ns, 120 * S);
    assert_eq!(
        (orders.dead_letter_queue, orders.max_receive_count),
        (Some(1), Some(3))
    );
    // Untouched settings keep their values.
    assert_eq!(orders.retention_ns, f.base.queues[0].retention_ns);
    assert_eq!(b.queues[1], f.base.queues[1]);
    let m = &b.event_sources[0];
    assert_eq!((m.queue, m.function), (0, 1));
    assert_eq!((m.batch_size, m.batching_window_ns), (50, 5 * S));
    assert!(m.report_batch_item_failures && m.enabled);
    let config = &b.functions[1].event_invoke_config;
    assert_eq!(config.maximum_retry_attempts, 0);
    assert_eq!(config.maximum_event_age_ns, 6 * 3600 * S);
    assert_eq!(
        f.base.functions[1]
            .event_invoke_config
            .maximum_retry_attempts,
        2
    );
    assert_eq!(
        f.variants[1].overrides,
        vec![
            "event_source.0.batch_size = 50",
            "event_source.0.batching_window = \"5s\"",
            "event_source.0.report_batch_item_failures = true",
            "function.worker.event_invoke_config.maximum_retry_attempts = 0",
            "queue.orders.dead_letter_queue = \"dlq\"",
            "queue.orders.max_receive_count = 3",
            "queue.orders.visibility_timeout = \"2m\"",
        ]
    );
}

#[test]
fn a_new_pattern_keeps_the_target_and_the_invocation_type() {
    let f = file(
        BASE,
        r#"
[[variant]]
name = "steady"
traffic.0 = { pattern = "constant", rate = 2 }
traffic.1 = { pattern = "spike", count = 3 }

[[variant]]
name = "sync"
traffic.1.invocation = "request_response"
"#,
    );
    let t = &f.variants[0].scenario.traffic;
    assert_eq!(t[0].target, Target::Queue(0));
    assert_eq!(t[0].pattern, Pattern::Constant { rate: 2.0 });
    assert_eq!(
        (t[1].target, t[1].invocation),
        (Target::Function(1), InvocationType::Event)
    );
    assert_eq!(
        t[1].pattern,
        Pattern::Spike {
            count: 3,
            window_ns: 0
        }
    );
    let t = &f.variants[1].scenario.traffic;
    assert_eq!(t[1].invocation, InvocationType::RequestResponse);
}

#[test]
fn override_mistakes_name_the_variant_and_point_at_the_key() {
    let cases: [(&str, &str, &str); 7] = [
        (
            "queue.nope.visibility_timeout = 60",
            "nope",
            "variant \"a\": queue \"nope\" is not declared (declared: orders, dlq)",
        ),
        (
            "queue.orders.name = \"x\"",
            "\"x\"",
            "variant \"a\": queue.orders.name cannot be overridden (it is how the variant finds the queue)",
        ),
        (
            "event_source.1.batch_size = 5",
            "1.batch_size",
            "variant \"a\": event_source.1 must name a [[event_source]] block by its 0-based index, 0–0",
        ),
        (
            "event_source.0.function = \"api\"",
            "\"api\"",
            "variant \"a\": event_source.0.function cannot be overridden; declare another [[event_source]] block \
             instead",
        ),
        (
            "event_source.0.queue = \"dlq\"",
            "\"dlq\"",
            "variant \"a\": event_source.0.queue cannot be overridden; declare another [[event_source]] block instead",
        ),
        (
            "traffic.0.queue = \"dlq\"",
            "\"dlq\"",
            "variant \"a\": traffic.0.queue cannot be overridden; declare another [[traffic]] block instead",
        ),
        (
            "event_source.0.batch_size = 11",
            "11",
            "variant \"a\": event_source[0]: batch_size = 11 needs batching_window ≥ 1s (Lambda requires a batching \
             window of at least 1 s for batches larger than 10); batching_window is 0s",
        ),
    ];
    for (line, needle, message) in cases {
        let (e, text) = error(BASE, &format!("\n[[variant]]\nname = \"a\"\n{line}\n"));
        assert_eq!(e.message, message, "{e}");
        let at = text
            .rfind(needle)
            .map(|i| super::super::error::line_col(&text, i));
        assert_eq!(Some((e.line, e.column)), at, "position in {e}");
    }
}

#[test]
fn a_function_override_is_checked_against_the_mapping() {
    let (e, text) = error(
        BASE,
        "\n[[variant]]\nname = \"slow\"\nfunction.worker.timeout = 60\n",
    );
    assert_eq!(
        e.message,
        "variant \"slow\": event_source[0]: function \"worker\" has timeout 1m, longer than queue \"orders\"'s \
         visibility_timeout 30s; Lambda refuses such a mapping (the function timeout must not exceed the queue's \
         visibility timeout; AWS recommends at least 6 × the timeout)"
    );
    // The mapping's `function` value, where the file wrote it.
    let at =
        super::super::error::line_col(&text, text.find("\"worker\"\n\n[[traffic]]").unwrap_or(0));
    assert_eq!((e.line, e.column), at, "{e}");
}

#[test]
fn overrides_of_blocks_the_file_does_not_declare() {
    let base =
        "[simulation]\nduration = 60\n\n[[function]]\nname = \"api\"\ncode = \"functions/hello\"\n";
    let (e, _) = error(
        base,
        "\n[[variant]]\nname = \"a\"\nqueue.q.visibility_timeout = 60\n",
    );
    assert_eq!(
        e.message,
        "variant \"a\": queue \"q\" is not declared (no [[queue]] is declared)"
    );
    let (e, _) = error(
        base,
        "\n[[variant]]\nname = \"a\"\nevent_source.0.batch_size = 5\n",
    );
    assert_eq!(
        e.message,
        "variant \"a\": event_source.0 overrides a [[event_source]] block, but none is declared"
    );
}
