//! Event sources: a function's `event_invoke_config` (asynchronous invocations), `[[queue]]` tables (simulated SQS
//! standard queues) and `[[event_source]]` tables (SQS event source mappings). Ranges and defaults are in
//! [`super::defaults`], with their sources.

use std::collections::BTreeMap;

use toml::Spanned;

use super::defaults::*;
use super::error::{Source, line_col};
use super::raw::{DurationValue, RawEventInvokeConfig, RawEventSource, RawQueue};
use super::values::{duration_ns, int_in, show_ns};
use super::{EventInvokeConfig, EventSourceSpec, FunctionSpec, QueueSpec, ScenarioError};

/// The default configuration: what a function without `event_invoke_config` gets.
impl Default for EventInvokeConfig {
    fn default() -> Self {
        EventInvokeConfig {
            maximum_retry_attempts: MAXIMUM_RETRY_ATTEMPTS,
            maximum_event_age_ns: MAXIMUM_EVENT_AGE_NS,
            on_success: None,
            on_failure: None,
        }
    }
}

/// `event_invoke_config = { maximum_retry_attempts, maximum_event_age, on_success, on_failure }`. `what` names
/// the function (`function "worker"`).
pub(super) fn event_invoke_config(
    src: &Source,
    raw: Option<&Spanned<RawEventInvokeConfig>>,
    what: &str,
) -> Result<EventInvokeConfig, ScenarioError> {
    let mut config = EventInvokeConfig::default();
    let Some(raw) = raw.map(Spanned::get_ref) else {
        return Ok(config);
    };
    let field = format!("{what}: event_invoke_config");
    if let Some(v) = &raw.maximum_retry_attempts {
        config.maximum_retry_attempts = int_in(
            src,
            v,
            &format!("{field}.maximum_retry_attempts"),
            0,
            MAXIMUM_RETRY_ATTEMPTS_MAX.into(),
            "",
        )? as u32;
    }
    if let Some(v) = &raw.maximum_event_age {
        config.maximum_event_age_ns = duration_in(
            src,
            v,
            &format!("{field}.maximum_event_age"),
            MAXIMUM_EVENT_AGE_MIN_NS..=MAXIMUM_EVENT_AGE_MAX_NS,
            "60 s–6 h (21,600 s)",
        )?;
    }
    for (slot, v, name) in [
        (&mut config.on_success, &raw.on_success, "on_success"),
        (&mut config.on_failure, &raw.on_failure, "on_failure"),
    ] {
        if let Some(v) = v {
            *slot = Some(label(
                src,
                v,
                &format!("{field}.{name} ="),
                DESTINATION_NAME_MAX,
            )?);
        }
    }
    Ok(config)
}

/// Every `[[queue]]`: names unique, settings in range, redrive policies naming another declared queue.
pub(super) fn queues(
    src: &Source,
    raws: &[Spanned<RawQueue>],
) -> Result<Vec<QueueSpec>, ScenarioError> {
    let mut lines: BTreeMap<String, usize> = BTreeMap::new();
    let mut specs = Vec::with_capacity(raws.len());
    for raw in raws {
        let table_span = raw.span();
        let r = raw.get_ref();
        let Some(name_v) = &r.name else {
            return Err(src.err(&table_span, "queue: name is required"));
        };
        let name = label(src, name_v, "queue name", QUEUE_NAME_MAX)?;
        let line = line_col(src.text, name_v.span().start).0;
        if let Some(first) = lines.insert(name.clone(), line) {
            return Err(src.err(
                &name_v.span(),
                format!("queue \"{name}\" is declared twice (first at line {first})"),
            ));
        }
        let what = format!("queue \"{name}\"");
        let visibility_timeout_ns = match &r.visibility_timeout {
            None => VISIBILITY_TIMEOUT_NS,
            Some(v) => duration_in(
                src,
                v,
                &format!("{what}: visibility_timeout"),
                0..=VISIBILITY_TIMEOUT_MAX_NS,
                "0 s–12 h (43,200 s)",
            )?,
        };
        let retention_ns = match &r.message_retention {
            None => MESSAGE_RETENTION_NS,
            Some(v) => duration_in(
                src,
                v,
                &format!("{what}: message_retention"),
                MESSAGE_RETENTION_MIN_NS..=MESSAGE_RETENTION_MAX_NS,
                "60 s–14 days (1,209,600 s)",
            )?,
        };
        let max_receive_count = match &r.max_receive_count {
            None => None,
            Some(v) => Some(int_in(
                src,
                v,
                &format!("{what}: max_receive_count"),
                1,
                MAX_RECEIVE_COUNT_MAX.into(),
                "receives",
            )? as u32),
        };
        specs.push(QueueSpec {
            name,
            visibility_timeout_ns,
            retention_ns,
            dead_letter_queue: None,
            max_receive_count,
        });
    }
    // Redrive policies, once every name is known (a queue may name a later one).
    for (i, raw) in raws.iter().enumerate() {
        let r = raw.get_ref();
        let what = format!("queue \"{}\"", specs[i].name);
        match (&r.dead_letter_queue, &r.max_receive_count) {
            (None, None) => {}
            (None, Some(v)) => {
                return Err(src.err(
                    &v.span(),
                    format!(
                        "{what}: max_receive_count applies only with dead_letter_queue (a redrive policy needs both)"
                    ),
                ));
            }
            (Some(v), None) => {
                return Err(src.err(
                    &v.span(),
                    format!(
                        "{what}: dead_letter_queue needs max_receive_count (1–{MAX_RECEIVE_COUNT_MAX}: how many \
                         receives before a message moves to the dead-letter queue; 5 or more is recommended)"
                    ),
                ));
            }
            (Some(v), Some(_)) => {
                let target = v.get_ref();
                if target == &specs[i].name {
                    return Err(src.err(
                        &v.span(),
                        format!(
                            "{what}: dead_letter_queue \"{target}\" is the queue itself; name another [[queue]]"
                        ),
                    ));
                }
                let names: Vec<&str> = specs.iter().map(|q| q.name.as_str()).collect();
                let Some(dlq) = names.iter().position(|n| n == target) else {
                    return Err(src.err(
                        &v.span(),
                        format!(
                            "{what}: dead_letter_queue \"{target}\" is not declared (declared: {})",
                            names.join(", ")
                        ),
                    ));
                };
                specs[i].dead_letter_queue = Some(dlq);
            }
        }
    }
    Ok(specs)
}

/// Every `[[event_source]]`: a declared queue and function, settings in range, one mapping per (queue, function),
/// and the function's timeout within the queue's visibility timeout.
pub(super) fn event_sources(
    src: &Source,
    raws: &[Spanned<RawEventSource>],
    functions: &[FunctionSpec],
    queues: &[QueueSpec],
) -> Result<Vec<EventSourceSpec>, ScenarioError> {
    let mut pairs: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut specs = Vec::with_capacity(raws.len());
    for (index, raw) in raws.iter().enumerate() {
        let what = format!("event_source[{index}]");
        let table_span = raw.span();
        let r = raw.get_ref();
        let Some(queue_v) = &r.queue else {
            return Err(src.err(
                &table_span,
                format!("{what}: queue is required (the [[queue]] to poll)"),
            ));
        };
        let Some(function_v) = &r.function else {
            return Err(src.err(
                &table_span,
                format!("{what}: function is required (the [[function]] to invoke)"),
            ));
        };
        let queue = queue_index(src, queue_v, queues, &what)?;
        let function = function_index(src, function_v, functions, &what)?;
        if let Some(first) = pairs.insert((queue, function), index) {
            return Err(src.err(
                &queue_v.span(),
                format!(
                    "{what}: queue \"{}\" is already mapped to function \"{}\" by event_source[{first}]; one \
                     mapping per queue and function",
                    queues[queue].name, functions[function].name
                ),
            ));
        }
        let (f, q) = (&functions[function], &queues[queue]);
        if f.timeout_ns > q.visibility_timeout_ns {
            return Err(src.err(
                &function_v.span(),
                format!(
                    "{what}: function \"{}\" has timeout {}, longer than queue \"{}\"'s visibility_timeout {}; \
                     Lambda refuses such a mapping (the function timeout must not exceed the queue's visibility \
                     timeout; AWS recommends at least 6 × the timeout)",
                    f.name,
                    show_ns(f.timeout_ns),
                    q.name,
                    show_ns(q.visibility_timeout_ns)
                ),
            ));
        }
        let batch_size = match &r.batch_size {
            None => BATCH_SIZE,
            Some(v) => int_in(
                src,
                v,
                &format!("{what}: batch_size"),
                1,
                BATCH_SIZE_MAX.into(),
                "messages",
            )? as u32,
        };
        let batching_window_ns = match &r.batching_window {
            None => BATCHING_WINDOW_NS,
            Some(v) => duration_in(
                src,
                v,
                &format!("{what}: batching_window"),
                0..=BATCHING_WINDOW_MAX_NS,
                "0–300 s",
            )?,
        };
        if batch_size > BATCH_SIZE_WITHOUT_WINDOW
            && batching_window_ns < BATCH_SIZE_MIN_WINDOW_NS
            && let Some(v) = &r.batch_size
        {
            return Err(src.err(
                &v.span(),
                format!(
                    "{what}: batch_size = {batch_size} needs batching_window ≥ 1s (Lambda requires a batching \
                     window of at least 1 s for batches larger than {BATCH_SIZE_WITHOUT_WINDOW}); batching_window \
                     is {}",
                    show_ns(batching_window_ns)
                ),
            ));
        }
        let maximum_concurrency = match &r.maximum_concurrency {
            None => None,
            Some(v) => Some(int_in(
                src,
                v,
                &format!("{what}: maximum_concurrency"),
                MAXIMUM_CONCURRENCY_MIN.into(),
                MAXIMUM_CONCURRENCY_MAX.into(),
                "",
            )? as u32),
        };
        specs.push(EventSourceSpec {
            queue,
            function,
            batch_size,
            batching_window_ns,
            maximum_concurrency,
            report_batch_item_failures: r
                .report_batch_item_failures
                .as_ref()
                .is_some_and(|v| *v.get_ref()),
            enabled: r.enabled.as_ref().is_none_or(|v| *v.get_ref()),
        });
    }
    Ok(specs)
}

/// The index of the declared queue named by `v`.
pub(super) fn queue_index(
    src: &Source,
    v: &Spanned<String>,
    queues: &[QueueSpec],
    what: &str,
) -> Result<usize, ScenarioError> {
    let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
    names.iter().position(|n| n == v.get_ref()).ok_or_else(|| {
        let declared = if names.is_empty() {
            "no [[queue]] is declared".to_string()
        } else {
            format!("declared: {}", names.join(", "))
        };
        src.err(
            &v.span(),
            format!(
                "{what}: queue \"{}\" is not declared ({declared})",
                v.get_ref()
            ),
        )
    })
}

/// The index of the declared function named by `v`.
pub(super) fn function_index(
    src: &Source,
    v: &Spanned<String>,
    functions: &[FunctionSpec],
    what: &str,
) -> Result<usize, ScenarioError> {
    let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
    names.iter().position(|n| n == v.get_ref()).ok_or_else(|| {
        src.err(
            &v.span(),
            format!(
                "{what}: function \"{}\" is not declared (declared: {})",
                v.get_ref(),
                names.join(", ")
            ),
        )
    })
}

/// A name or label: 1–`max` characters of A–Z, a–z, 0–9, `-` and `_`. The message reads "`what` "value" must
/// be …".
fn label(
    src: &Source,
    v: &Spanned<String>,
    what: &str,
    max: usize,
) -> Result<String, ScenarioError> {
    let s = v.get_ref();
    let ok = (1..=max).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(s.clone())
    } else {
        Err(src.err(
            &v.span(),
            format!("{what} {s:?} must be 1–{max} characters of A–Z, a–z, 0–9, - and _"),
        ))
    }
}

/// A duration within `range`; `shown` is the range as the message states it.
fn duration_in(
    src: &Source,
    v: &Spanned<DurationValue>,
    what: &str,
    range: std::ops::RangeInclusive<u64>,
    shown: &str,
) -> Result<u64, ScenarioError> {
    let ns = duration_ns(src, v, what)?;
    if range.contains(&ns) {
        Ok(ns)
    } else {
        Err(src.err(
            &v.span(),
            format!(
                "{what} = {} is outside the allowed range {shown}",
                v.get_ref()
            ),
        ))
    }
}
