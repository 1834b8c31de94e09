//! `[[traffic]]` tables: which function to invoke (and how: `invocation`) or which queue to send messages to, when,
//! the arrival pattern and its parameters, and the payload (a message's body for a queue).
//!
//! Each pattern takes only its own fields; giving another pattern's field (say `rate` with `spike`) is an error,
//! since it is most likely a mistake.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::distribution::parse_distribution;
use super::error::Source;
use super::events::{function_index, queue_index};
use super::raw::{InvocationName, PatternName, RawTraffic};
use super::template::template;
use super::values::{MAX_RATE, duration_ns, int_in, positive_duration_ns, rate, show_ns};
use super::{
    FunctionSpec, InvocationType, Pattern, PayloadSpec, QueueSpec, ScenarioError, Simulation,
    Target, TrafficPhase, defaults, resolve_path,
};

/// Most requests one spike may send: a billion (a day of 10,000 requests/s is under that); arrivals are drawn one at a
/// time, so the bound is on run time, not memory.
pub const MAX_SPIKE_COUNT: i64 = 1_000_000_000;

/// Most closed-loop users one phase may have (each holds a slot in the traffic generator).
pub const MAX_USERS: i64 = 1_000_000;

pub(super) fn phases(
    src: &Source,
    scenario_path: &Path,
    raws: &[Spanned<RawTraffic>],
    functions: &[FunctionSpec],
    queues: &[QueueSpec],
    sim: &Simulation,
) -> Result<Vec<TrafficPhase>, ScenarioError> {
    raws.iter()
        .enumerate()
        .map(|(i, raw)| phase(src, scenario_path, i, raw, functions, queues, sim))
        .collect()
}

fn phase(
    src: &Source,
    scenario_path: &Path,
    index: usize,
    raw: &Spanned<RawTraffic>,
    functions: &[FunctionSpec],
    queues: &[QueueSpec],
    sim: &Simulation,
) -> Result<TrafficPhase, ScenarioError> {
    let what = format!("traffic[{index}]");
    let table_span = raw.span();
    let r = raw.get_ref();

    let target = match (&r.function, &r.queue) {
        (Some(_), Some(q)) => {
            return Err(src.err(
                &q.span(),
                format!("{what}: function and queue are mutually exclusive; a phase either invokes a function or sends messages to a queue"),
            ));
        }
        (None, None) => {
            return Err(src.err(
                &table_span,
                format!("{what}: function or queue is required (the [[function]] to invoke or the [[queue]] to send messages to)"),
            ));
        }
        (Some(f), None) => Target::Function(function_index(src, f, functions, &what)?),
        (None, Some(q)) => Target::Queue(queue_index(src, q, queues, &what)?),
    };

    let Some(pattern_v) = &r.pattern else {
        return Err(src.err(
            &table_span,
            format!("{what}: pattern is required (constant, poisson, ramp, spike, step, sine, closed_loop or replay)"),
        ));
    };

    let start_ns = match &r.start {
        None => 0,
        Some(v) => {
            let ns = duration_ns(src, v, &format!("{what}: start"))?;
            if ns >= sim.duration_ns {
                return Err(src.err(
                    &v.span(),
                    format!(
                        "{what}: start = {} is at or after the end of the simulation ({})",
                        v.get_ref(),
                        show_ns(sim.duration_ns)
                    ),
                ));
            }
            ns
        }
    };
    let end_ns = match &r.duration {
        None => sim.duration_ns,
        Some(v) => start_ns
            .saturating_add(positive_duration_ns(src, v, &format!("{what}: duration"))?)
            .min(sim.duration_ns),
    };

    let pattern = pattern(src, scenario_path, &what, r, pattern_v, end_ns - start_ns)?;
    let payload = payload(src, scenario_path, &what, r)?;
    let invocation = invocation(src, &what, r, target, queues)?;
    // A closed-loop user waits for each response; a queue or the async queue answers at once, so its users would
    // send without end at one instant.
    if matches!(pattern, Pattern::ClosedLoop { .. })
        && (target.function().is_none() || invocation == InvocationType::Event)
    {
        let sends = if target.function().is_none() {
            "a message sent to a queue"
        } else {
            "an event invocation"
        };
        return Err(src.err(
            &pattern_v.span(),
            format!("{what}: pattern \"closed_loop\" waits for each response, but {sends} is answered at once; use an open-loop pattern"),
        ));
    }
    Ok(TrafficPhase {
        target,
        start_ns,
        end_ns,
        pattern,
        payload,
        invocation,
        ping: false,
    })
}

/// `invocation = "request_response" | "event"`: only for a phase that invokes a function.
fn invocation(
    src: &Source,
    what: &str,
    r: &RawTraffic,
    target: Target,
    queues: &[QueueSpec],
) -> Result<InvocationType, ScenarioError> {
    let Some(v) = &r.invocation else {
        return Ok(InvocationType::RequestResponse);
    };
    if let Target::Queue(q) = target {
        return Err(src.err(
            &v.span(),
            format!(
                "{what}: invocation applies only to a phase that invokes a function; this phase sends messages to queue \"{}\"",
                queues[q].name
            ),
        ));
    }
    Ok(match v.get_ref() {
        InvocationName::RequestResponse => InvocationType::RequestResponse,
        InvocationName::Event => InvocationType::Event,
    })
}

fn pattern(
    src: &Source,
    scenario_path: &Path,
    what: &str,
    r: &RawTraffic,
    pattern_v: &Spanned<PatternName>,
    length_ns: u64,
) -> Result<Pattern, ScenarioError> {
    let name = *pattern_v.get_ref();
    let given: [(&str, Option<Range<usize>>); 12] = [
        ("rate", r.rate.as_ref().map(Spanned::span)),
        ("from_rate", r.from_rate.as_ref().map(Spanned::span)),
        ("to_rate", r.to_rate.as_ref().map(Spanned::span)),
        ("count", r.count.as_ref().map(Spanned::span)),
        ("window", r.window.as_ref().map(Spanned::span)),
        ("steps", r.steps.as_ref().map(Spanned::span)),
        ("mean_rate", r.mean_rate.as_ref().map(Spanned::span)),
        ("amplitude", r.amplitude.as_ref().map(Spanned::span)),
        ("period", r.period.as_ref().map(Spanned::span)),
        ("users", r.users.as_ref().map(Spanned::span)),
        ("think_time_ms", r.think_time_ms.as_ref().map(Spanned::span)),
        ("file", r.file.as_ref().map(Spanned::span)),
    ];
    let allowed: &[&str] = match name {
        PatternName::Constant | PatternName::Poisson => &["rate"],
        PatternName::Ramp => &["from_rate", "to_rate"],
        PatternName::Spike => &["count", "window"],
        PatternName::Step => &["steps"],
        PatternName::Sine => &["mean_rate", "amplitude", "period"],
        PatternName::ClosedLoop => &["users", "think_time_ms"],
        PatternName::Replay => &["file"],
    };
    for (field, field_span) in &given {
        if let Some(field_span) = field_span
            && !allowed.contains(field)
        {
            return Err(src.err(
                field_span,
                format!(
                    "{what}: {field} does not apply to pattern \"{}\" (it takes {})",
                    name.as_str(),
                    allowed.join(", ")
                ),
            ));
        }
    }
    let missing = |field: &str| {
        src.err(
            &pattern_v.span(),
            format!("{what}: pattern \"{}\" needs {field}", name.as_str()),
        )
    };

    Ok(match name {
        PatternName::Constant | PatternName::Poisson => {
            let v = r
                .rate
                .as_ref()
                .ok_or_else(|| missing("rate (requests per second)"))?;
            let x = rate(src, v, &format!("{what}: rate"), false)?;
            if name == PatternName::Constant {
                Pattern::Constant { rate: x }
            } else {
                Pattern::Poisson { rate: x }
            }
        }
        PatternName::Ramp => {
            let from = r.from_rate.as_ref().ok_or_else(|| missing("from_rate"))?;
            let to = r.to_rate.as_ref().ok_or_else(|| missing("to_rate"))?;
            let from_rate = rate(src, from, &format!("{what}: from_rate"), true)?;
            let to_rate = rate(src, to, &format!("{what}: to_rate"), true)?;
            if from_rate == 0.0 && to_rate == 0.0 {
                return Err(src.err(
                    &to.span(),
                    format!("{what}: from_rate and to_rate are both 0: the ramp sends nothing"),
                ));
            }
            Pattern::Ramp { from_rate, to_rate }
        }
        PatternName::Spike => {
            let count_v = r.count.as_ref().ok_or_else(|| missing("count"))?;
            let count = int_in(
                src,
                count_v,
                &format!("{what}: count"),
                1,
                MAX_SPIKE_COUNT,
                "requests",
            )? as u64;
            let window_ns = match &r.window {
                None => 0,
                Some(v) => {
                    let ns = duration_ns(src, v, &format!("{what}: window"))?;
                    if ns > length_ns {
                        return Err(src.err(
                            &v.span(),
                            format!(
                                "{what}: window = {} is longer than the phase ({})",
                                v.get_ref(),
                                show_ns(length_ns)
                            ),
                        ));
                    }
                    ns
                }
            };
            Pattern::Spike { count, window_ns }
        }
        PatternName::Step => {
            let steps_v = r
                .steps
                .as_ref()
                .ok_or_else(|| missing("steps, e.g. [{ at = \"0s\", rate = 5 }]"))?;
            if steps_v.get_ref().is_empty() {
                return Err(src.err(&steps_v.span(), format!("{what}: steps must not be empty")));
            }
            let mut steps = Vec::with_capacity(steps_v.get_ref().len());
            for (k, step) in steps_v.get_ref().iter().enumerate() {
                let step = step.get_ref();
                let at = duration_ns(src, &step.at, &format!("{what}: steps[{k}].at"))?;
                if let Some(&(prev, _)) = steps.last()
                    && at <= prev
                {
                    return Err(src.err(
                        &step.at.span(),
                        format!(
                            "{what}: steps[{k}].at = {} is not after the previous step ({})",
                            step.at.get_ref(),
                            show_ns(prev)
                        ),
                    ));
                }
                if at >= length_ns {
                    return Err(src.err(
                        &step.at.span(),
                        format!(
                            "{what}: steps[{k}].at = {} is at or after the end of the phase ({})",
                            step.at.get_ref(),
                            show_ns(length_ns)
                        ),
                    ));
                }
                let x = rate(src, &step.rate, &format!("{what}: steps[{k}].rate"), true)?;
                steps.push((at, x));
            }
            Pattern::Step { steps }
        }
        PatternName::Sine => {
            let mean_v = r.mean_rate.as_ref().ok_or_else(|| missing("mean_rate"))?;
            let amp_v = r.amplitude.as_ref().ok_or_else(|| missing("amplitude"))?;
            let period_v = r.period.as_ref().ok_or_else(|| missing("period"))?;
            let mean_rate = rate(src, mean_v, &format!("{what}: mean_rate"), false)?;
            let amplitude = rate(src, amp_v, &format!("{what}: amplitude"), true)?;
            if mean_rate + amplitude > MAX_RATE {
                return Err(src.err(
                    &amp_v.span(),
                    format!("{what}: mean_rate + amplitude = {} exceeds the highest allowed rate, {MAX_RATE} requests/s", mean_rate + amplitude),
                ));
            }
            let period_ns = positive_duration_ns(src, period_v, &format!("{what}: period"))?;
            Pattern::Sine {
                mean_rate,
                amplitude,
                period_ns,
            }
        }
        PatternName::ClosedLoop => {
            let users_v = r.users.as_ref().ok_or_else(|| missing("users"))?;
            let users = int_in(src, users_v, &format!("{what}: users"), 1, MAX_USERS, "")? as u32;
            let think_time_ms = match &r.think_time_ms {
                None => defaults::think_time_ms(),
                Some(node) => {
                    parse_distribution(src, node, &format!("{what}: think_time_ms"), false)?.0
                }
            };
            Pattern::ClosedLoop {
                users,
                think_time_ms,
            }
        }
        PatternName::Replay => {
            let file_v = r
                .file
                .as_ref()
                .ok_or_else(|| missing("file (a CSV of arrival times)"))?;
            Pattern::Replay {
                file: existing_file(src, scenario_path, file_v, &format!("{what}: file"))?,
            }
        }
    })
}

fn payload(
    src: &Source,
    scenario_path: &Path,
    what: &str,
    r: &RawTraffic,
) -> Result<PayloadSpec, ScenarioError> {
    let given: Vec<(&str, Range<usize>)> = [
        ("payload", r.payload.as_ref().map(Spanned::span)),
        ("payload_file", r.payload_file.as_ref().map(Spanned::span)),
        (
            "payload_template",
            r.payload_template.as_ref().map(Spanned::span),
        ),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.map(|s| (k, s)))
    .collect();
    if given.len() > 1 {
        return Err(src.err(
            &given[1].1,
            format!(
                "{what}: {} and {} are mutually exclusive; give at most one payload",
                given[0].0, given[1].0
            ),
        ));
    }
    if let Some(v) = &r.payload {
        check_json(v.get_ref())
            .map_err(|e| src.err(&v.span(), format!("{what}: payload is not valid JSON: {e}")))?;
        return Ok(PayloadSpec::Fixed(v.get_ref().clone()));
    }
    if let Some(v) = &r.payload_file {
        let path = existing_file(src, scenario_path, v, &format!("{what}: payload_file"))?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            src.err(
                &v.span(),
                format!("{what}: payload_file {}: cannot read: {e}", path.display()),
            )
        })?;
        check_json(&text).map_err(|e| {
            src.err(
                &v.span(),
                format!(
                    "{what}: payload_file {} is not valid JSON: {e}",
                    path.display()
                ),
            )
        })?;
        return Ok(PayloadSpec::Fixed(text));
    }
    if let Some(node) = &r.payload_template {
        return Ok(PayloadSpec::Template(template(
            src,
            node,
            &format!("{what}: payload_template"),
        )?));
    }
    Ok(PayloadSpec::Fixed(defaults::PAYLOAD.to_string()))
}

fn check_json(text: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map(|_| ())
}

/// Resolves a file named in the scenario and checks it exists.
fn existing_file(
    src: &Source,
    scenario_path: &Path,
    v: &Spanned<String>,
    what: &str,
) -> Result<std::path::PathBuf, ScenarioError> {
    let given = v.get_ref();
    if given.trim().is_empty() {
        return Err(src.err(&v.span(), format!("{what} must not be empty")));
    }
    let path = resolve_path(scenario_path, Path::new(given));
    if !path.is_file() {
        return Err(src.err(
            &v.span(),
            format!("{what} = {given:?}: no such file ({})", path.display()),
        ));
    }
    Ok(path)
}
