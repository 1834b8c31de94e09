//! `[[function]]` tables: names, code, memory, timeout, reserved and provisioned concurrency (checked against the
//! account), keep-alive, lifetime and cold-start overheads (mitigations and `event_invoke_config` have their own
//! modules).

use std::collections::HashMap;
use std::path::Path;

use toml::Spanned;

use super::defaults;
use super::distribution::parse_distribution;
use super::error::{Source, line_col};
use super::raw::{
    ArchName, DurationValue, EraName, PolicyName, RawColdStart, RawFunction, RawKeepAlive,
};
use super::values::{duration_ns, int_in, positive_duration_ns};
use super::{
    Account, Architecture, ColdStartOverhead, FunctionSpec, KeepAlivePolicy, RuntimeChoice,
    ScenarioError, resolve_path,
};
use crate::limits::{
    MEMORY_MB_DEFAULT, MEMORY_MB_MAX, MEMORY_MB_MIN, TIMEOUT_S_DEFAULT, TIMEOUT_S_MAX,
    TIMEOUT_S_MIN, check_memory_mb, check_timeout_s,
};

/// Longest function name Lambda accepts.
const NAME_MAX: usize = 64;

pub(super) fn functions(
    src: &Source,
    scenario_path: &Path,
    raws: &[Spanned<RawFunction>],
    account: &Account,
    has_trace: bool,
) -> Result<Vec<FunctionSpec>, ScenarioError> {
    if raws.is_empty() && !has_trace {
        return Err(src.err(
            &(0..0),
            "no [[function]] declared; a scenario needs at least one (or a [trace])",
        ));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut specs = Vec::with_capacity(raws.len());
    for raw in raws {
        let spec = function(src, scenario_path, raw, &mut seen)?;
        specs.push(spec);
    }
    check_concurrency(src, raws, &specs, account)?;
    check_keep_alive_budget(src, raws, &specs, account)?;
    Ok(specs)
}

pub(super) fn function(
    src: &Source,
    scenario_path: &Path,
    raw: &Spanned<RawFunction>,
    seen: &mut HashMap<String, usize>,
) -> Result<FunctionSpec, ScenarioError> {
    let table_span = raw.span();
    let raw = raw.get_ref();

    let Some(name_v) = &raw.name else {
        return Err(src.err(&table_span, "function: name is required"));
    };
    let name = name_v.get_ref().clone();
    let valid = (1..=NAME_MAX).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(src.err(
            &name_v.span(),
            format!(
                "function name {name:?} must be 1–{NAME_MAX} characters of A–Z, a–z, 0–9, - and _"
            ),
        ));
    }
    let line = line_col(src.text, name_v.span().start).0;
    if let Some(first) = seen.insert(name.clone(), line) {
        return Err(src.err(
            &name_v.span(),
            format!("function \"{name}\" is declared twice (first at line {first})"),
        ));
    }
    let what = format!("function \"{name}\"");

    let Some(code_v) = &raw.code else {
        return Err(src.err(
            &table_span,
            format!("{what}: code is required (a guest crate directory or a .wasm/.wat file)"),
        ));
    };
    let code = code_path(src, scenario_path, code_v, &what)?;

    let memory_mb = match &raw.memory_mb {
        None => MEMORY_MB_DEFAULT,
        Some(v) => {
            let x = *v.get_ref();
            match u64::try_from(x).ok().map(check_memory_mb) {
                Some(Ok(mb)) => mb,
                _ => {
                    return Err(src.err(
                        &v.span(),
                        format!("{what}: memory_mb = {x} is outside Lambda's range {MEMORY_MB_MIN}–{MEMORY_MB_MAX} MB"),
                    ));
                }
            }
        }
    };

    let timeout_ns = match &raw.timeout {
        None => check_timeout_s(TIMEOUT_S_DEFAULT).unwrap_or(3_000_000_000),
        Some(v) => {
            let ns = duration_ns(src, v, &format!("{what}: timeout"))?;
            check_timeout_s(ns as f64 / 1e9).map_err(|_| {
                src.err(
                    &v.span(),
                    format!("{what}: timeout = {} is outside Lambda's range {TIMEOUT_S_MIN}–{TIMEOUT_S_MAX} s", v.get_ref()),
                )
            })?
        }
    };

    // Ranges against the account are checked in `check_concurrency`; here only the sign.
    let reserved_concurrency = match &raw.reserved_concurrency {
        None => None,
        Some(v) => Some(non_negative_u32(
            src,
            v,
            &format!("{what}: reserved_concurrency"),
        )?),
    };
    let provisioned_concurrency = match &raw.provisioned_concurrency {
        None => 0,
        Some(v) => non_negative_u32(src, v, &format!("{what}: provisioned_concurrency"))?,
    };
    let snapshot = snapshot_flag(src, raw, provisioned_concurrency, &what)?;

    let provisioned_allocation_delay_ns = match &raw.provisioned_allocation_delay {
        None => defaults::PROVISIONED_ALLOCATION_DELAY_NS,
        Some(v) => duration_ns(src, v, &format!("{what}: provisioned_allocation_delay"))?,
    };

    let keep_alive = match &raw.keep_alive {
        None => KeepAlivePolicy::Lambda {
            min_ns: defaults::KEEP_ALIVE_MIN_NS,
            max_ns: defaults::KEEP_ALIVE_MAX_NS,
        },
        Some(k) => keep_alive(src, k, &what)?,
    };

    let max_lifetime_ns = match &raw.max_lifetime {
        None => Some(defaults::MAX_LIFETIME_NS),
        Some(v) => match v.get_ref() {
            DurationValue::Text(t) if t.trim().eq_ignore_ascii_case("none") => None,
            _ => Some(positive_duration_ns(
                src,
                v,
                &format!("{what}: max_lifetime"),
            )?),
        },
    };

    let architecture = match raw.architecture.as_ref().map(|a| *a.get_ref()) {
        None | Some(ArchName::X86_64) => Architecture::X86_64,
        Some(ArchName::Arm64) => Architecture::Arm64,
    };

    let runtime = match &raw.runtime {
        None => RuntimeChoice::Auto,
        Some(v) if v.get_ref() == "none" => RuntimeChoice::Off,
        Some(v) => match crate::model::runtime::Runtime::from_name(v.get_ref()) {
            Some(r) => RuntimeChoice::Preset(r),
            None => {
                let names: Vec<&str> = crate::model::runtime::Runtime::ALL
                    .iter()
                    .map(|(_, n)| *n)
                    .collect();
                return Err(src.err(
                    &v.span(),
                    format!(
                        "{what}: runtime = {:?} is not one of {}, \"none\"",
                        v.get_ref(),
                        names.join(", ")
                    ),
                ));
            }
        },
    };

    let cold_start = match &raw.cold_start {
        None => ColdStartOverhead {
            placement_ms: defaults::placement_ms(),
            download_bytes_per_s: mbps_to_bytes(defaults::DOWNLOAD_MBPS),
            runtime_startup_ms: None,
        },
        Some(c) => cold_start(src, c.get_ref(), &what)?,
    };
    if let (Some(r), Some(c)) = (&raw.runtime, &raw.cold_start)
        && let Some(d) = &c.get_ref().runtime_startup_ms
    {
        return Err(src.err(
            &d.span(),
            format!(
                "{what}: cold_start.runtime_startup_ms and runtime = {:?} both say how the runtime starts; set one of them",
                r.get_ref()
            ),
        ));
    }

    let (provisioned_schedule, provisioned_autoscaling) =
        super::mitigations::dynamic_provisioned(src, raw, reserved_concurrency, snapshot, &what)?;

    let handler = match &raw.handler {
        None => None,
        Some(v) => Some(handler(src, v, &what)?),
    };

    Ok(FunctionSpec {
        name,
        code,
        handler,
        memory_mb,
        timeout_ns,
        reserved_concurrency,
        provisioned_concurrency,
        provisioned_allocation_delay_ns,
        keep_alive,
        max_lifetime_ns,
        architecture,
        runtime,
        cold_start,
        snapshot,
        warmer: match &raw.warmer {
            None => None,
            Some(w) => Some(super::mitigations::warmer(src, w, &what)?),
        },
        provisioned_schedule,
        provisioned_autoscaling,
        event_invoke_config: super::events::event_invoke_config(
            src,
            raw.event_invoke_config.as_ref(),
            &what,
        )?,
        environment: super::environment::environment(src, raw.environment.as_ref(), &what)?,
    })
}

/// `handler`: Lambda's Handler setting for Python code, `module.function` (the module a dotted or `/` path).
fn handler(src: &Source, v: &Spanned<String>, what: &str) -> Result<String, ScenarioError> {
    let text = v.get_ref().trim();
    let valid = text
        .rsplit_once('.')
        .is_some_and(|(module, function)| !module.is_empty() && !function.is_empty())
        && !text.contains(char::is_whitespace);
    if !valid {
        return Err(src.err(
            &v.span(),
            format!(
                "{what}: handler = {:?} is not module.function (Lambda's Handler setting, e.g. \"lambda_function.lambda_handler\")",
                v.get_ref()
            ),
        ));
    }
    Ok(text.to_string())
}

/// `snapshot`: SnapStart "is not compatible with" provisioned concurrency (docs/lambda.md §9), so the two
/// are refused together.
fn snapshot_flag(
    src: &Source,
    raw: &RawFunction,
    provisioned_concurrency: u32,
    what: &str,
) -> Result<bool, ScenarioError> {
    let Some(v) = &raw.snapshot else {
        return Ok(false);
    };
    if *v.get_ref() && provisioned_concurrency > 0 {
        return Err(src.err(
            &v.span(),
            format!(
                "{what}: snapshot = true cannot be combined with provisioned_concurrency = {provisioned_concurrency}: \
                 Lambda SnapStart does not support provisioned concurrency (set one of them to false / 0)"
            ),
        ));
    }
    Ok(*v.get_ref())
}

pub(super) fn code_path(
    src: &Source,
    scenario_path: &Path,
    v: &Spanned<String>,
    what: &str,
) -> Result<std::path::PathBuf, ScenarioError> {
    let given = v.get_ref();
    if given.trim().is_empty() {
        return Err(src.err(&v.span(), format!("{what}: code must not be empty")));
    }
    let resolved = resolve_path(scenario_path, Path::new(given));
    if !resolved.exists() {
        let beside = scenario_path.parent().unwrap_or(Path::new("")).join(given);
        return Err(src.err(
            &v.span(),
            format!(
                "{what}: code = {given:?} not found (looked in the current directory and at {})",
                beside.display()
            ),
        ));
    }
    // A directory or file that is not code (`code = "/tmp"`) is refused here, with its position, not at deploy.
    crate::guest::check(&resolved)
        .map_err(|e| src.err(&v.span(), format!("{what}: code = {given:?}: {e}")))?;
    Ok(resolved)
}

fn non_negative_u32(src: &Source, v: &Spanned<i64>, what: &str) -> Result<u32, ScenarioError> {
    let x = *v.get_ref();
    u32::try_from(x).map_err(|_| {
        if x < 0 {
            src.err(&v.span(), format!("{what} = {x} must be ≥ 0"))
        } else {
            src.err(&v.span(), format!("{what} = {x} is too large"))
        }
    })
}

fn keep_alive(
    src: &Source,
    k: &Spanned<RawKeepAlive>,
    what: &str,
) -> Result<KeepAlivePolicy, ScenarioError> {
    let k = k.get_ref();
    let policy = *k.policy.get_ref();
    // Each setting belongs to one policy.
    let only = |field: &str, span: std::ops::Range<usize>, owner: PolicyName| {
        src.err(
            &span,
            format!(
                "{what}: keep_alive.{field} applies only to policy \"{}\" (policy is \"{}\")",
                owner.as_str(),
                policy.as_str()
            ),
        )
    };
    if policy != PolicyName::Fixed
        && let Some(d) = &k.duration
    {
        return Err(only("duration", d.span(), PolicyName::Fixed));
    }
    if policy != PolicyName::Lambda
        && let Some(v) = &k.era
    {
        return Err(only("era", v.span(), PolicyName::Lambda));
    }
    if policy != PolicyName::Hybrid {
        if let Some(v) = &k.fallback {
            return Err(only("fallback", v.span(), PolicyName::Hybrid));
        }
        if let Some(v) = &k.min_samples {
            return Err(only("min_samples", v.span(), PolicyName::Hybrid));
        }
    }
    match policy {
        PolicyName::Fixed => {
            let Some(d) = &k.duration else {
                return Err(src.err(
                    &k.policy.span(),
                    format!("{what}: keep_alive policy \"fixed\" needs a duration, e.g. {{ policy = \"fixed\", duration = \"10m\" }}"),
                ));
            };
            let idle_ns = duration_ns(src, d, &format!("{what}: keep_alive.duration"))?;
            if idle_ns == 0 {
                return Err(src.err(
                    &d.span(),
                    format!("{what}: keep_alive.duration = {} must be longer than 0 (use policy = \"none\")", d.get_ref()),
                ));
            }
            Ok(KeepAlivePolicy::Fixed { idle_ns })
        }
        PolicyName::Lambda => {
            let (min_ns, max_ns) = match k.era.as_ref().map(|e| *e.get_ref()) {
                None | Some(EraName::Late2020) => {
                    (defaults::KEEP_ALIVE_MIN_NS, defaults::KEEP_ALIVE_MAX_NS)
                }
                Some(EraName::Mid2019) => {
                    (defaults::KEEP_ALIVE_2019_NS, defaults::KEEP_ALIVE_2019_NS)
                }
                Some(EraName::Early) => (
                    defaults::KEEP_ALIVE_2017_MIN_NS,
                    defaults::KEEP_ALIVE_2017_MAX_NS,
                ),
            };
            Ok(KeepAlivePolicy::Lambda { min_ns, max_ns })
        }
        PolicyName::None => Ok(KeepAlivePolicy::None),
        PolicyName::Hybrid => {
            let fallback_ns = match &k.fallback {
                None => defaults::HYBRID_FALLBACK_NS,
                Some(v) => positive_duration_ns(src, v, &format!("{what}: keep_alive.fallback"))?,
            };
            let min_samples = match &k.min_samples {
                None => defaults::HYBRID_MIN_SAMPLES,
                Some(v) => int_in(
                    src,
                    v,
                    &format!("{what}: keep_alive.min_samples"),
                    1,
                    defaults::HYBRID_MIN_SAMPLES_MAX.into(),
                    "idle times",
                )? as u32,
            };
            Ok(KeepAlivePolicy::Hybrid {
                fallback_ns,
                min_samples,
            })
        }
        PolicyName::GreedyDual => Ok(KeepAlivePolicy::GreedyDual),
    }
}

/// Greedy-dual keep-alive caches environments in the account's keep-alive memory budget, so it needs one.
fn check_keep_alive_budget(
    src: &Source,
    raws: &[Spanned<RawFunction>],
    specs: &[FunctionSpec],
    account: &Account,
) -> Result<(), ScenarioError> {
    if account.keep_alive_memory_mb.is_some() {
        return Ok(());
    }
    for (raw, spec) in raws.iter().zip(specs) {
        if let (KeepAlivePolicy::GreedyDual, Some(k)) =
            (&spec.keep_alive, &raw.get_ref().keep_alive)
        {
            return Err(src.err(
                &k.get_ref().policy.span(),
                format!(
                    "function \"{}\": keep_alive policy \"greedy-dual\" needs a memory budget: set \
                     keep_alive_memory_mb in [account] (e.g. keep_alive_memory_mb = 4096)",
                    spec.name
                ),
            ));
        }
    }
    Ok(())
}

fn cold_start(
    src: &Source,
    c: &RawColdStart,
    what: &str,
) -> Result<ColdStartOverhead, ScenarioError> {
    let placement_ms = match &c.placement_ms {
        None => defaults::placement_ms(),
        Some(node) => {
            parse_distribution(
                src,
                node,
                &format!("{what}: cold_start.placement_ms"),
                false,
            )?
            .0
        }
    };
    let download_bytes_per_s = match &c.download_mbps {
        None => mbps_to_bytes(defaults::DOWNLOAD_MBPS),
        Some(v) => {
            let x = *v.get_ref();
            if !(x > 0.0 && x <= 1e6) || mbps_to_bytes(x) == 0 {
                return Err(src.err(
                    &v.span(),
                    format!("{what}: cold_start.download_mbps = {x} is outside the allowed range (0, 1000000] MB/s"),
                ));
            }
            mbps_to_bytes(x)
        }
    };
    let runtime_startup_ms = match &c.runtime_startup_ms {
        None => None,
        Some(node) => Some(
            parse_distribution(
                src,
                node,
                &format!("{what}: cold_start.runtime_startup_ms"),
                false,
            )?
            .0,
        ),
    };
    Ok(ColdStartOverhead {
        placement_ms,
        download_bytes_per_s,
        runtime_startup_ms,
    })
}

fn mbps_to_bytes(mbps: f64) -> u64 {
    (mbps * 1e6).round() as u64
}

/// Reserved and provisioned concurrency against the account: each reservation and their sum must leave the
/// unreserved minimum; provisioned ≤ reserved when reserved is set; provisioned concurrency of functions without
/// a reservation must fit in the unreserved pool while leaving the unreserved minimum.
fn check_concurrency(
    src: &Source,
    raws: &[Spanned<RawFunction>],
    specs: &[FunctionSpec],
    account: &Account,
) -> Result<(), ScenarioError> {
    let limit = u64::from(account.concurrency_limit);
    let minimum = u64::from(account.unreserved_minimum);
    let reservable = limit - minimum;
    let mut total_reserved: u64 = 0;
    for (raw, spec) in raws.iter().zip(specs) {
        let name = &spec.name;
        let (Some(reserved), Some(v)) = (
            spec.reserved_concurrency,
            &raw.get_ref().reserved_concurrency,
        ) else {
            continue;
        };
        let reserved = u64::from(reserved);
        if reserved > limit {
            return Err(src.err(
                &v.span(),
                format!(
                    "function \"{name}\": reserved_concurrency = {reserved} exceeds the account's concurrency_limit \
                     of {limit} (at most {reservable} may be reserved)"
                ),
            ));
        }
        if reserved > reservable {
            return Err(src.err(
                &v.span(),
                format!(
                    "function \"{name}\": reserved_concurrency = {reserved} leaves {} unreserved, below the account's \
                     unreserved minimum of {minimum} (at most {reservable} may be reserved)",
                    limit - reserved
                ),
            ));
        }
        total_reserved += reserved;
        if total_reserved > reservable {
            return Err(src.err(
                &v.span(),
                format!(
                    "function \"{name}\": reserved_concurrency = {reserved} brings the total reserved to \
                     {total_reserved}, leaving {} unreserved, below the account's unreserved minimum of {minimum} \
                     (at most {reservable} may be reserved across all functions)",
                    limit.saturating_sub(total_reserved)
                ),
            ));
        }
    }

    let unreserved_pool = limit - total_reserved;
    let provisionable = unreserved_pool - minimum;
    let mut total_provisioned: u64 = 0;
    for (raw, spec) in raws.iter().zip(specs) {
        let Some(v) = &raw.get_ref().provisioned_concurrency else {
            continue;
        };
        let name = &spec.name;
        let pc = u64::from(spec.provisioned_concurrency);
        if let Some(reserved) = spec.reserved_concurrency {
            if pc > u64::from(reserved) {
                return Err(src.err(
                    &v.span(),
                    format!("function \"{name}\": provisioned_concurrency = {pc} exceeds reserved_concurrency = {reserved}"),
                ));
            }
            continue;
        }
        total_provisioned += pc;
        if total_provisioned > provisionable {
            let sum = if total_provisioned == pc {
                String::new()
            } else {
                format!(
                    " brings provisioned concurrency on functions without reserved concurrency to {total_provisioned}, which"
                )
            };
            return Err(src.err(
                &v.span(),
                format!(
                    "function \"{name}\": provisioned_concurrency = {pc}{sum} leaves {} of the {unreserved_pool} \
                     unreserved concurrency, below the account's unreserved minimum of {minimum} (at most \
                     {provisionable} may be provisioned on functions without reserved concurrency)",
                    unreserved_pool.saturating_sub(total_provisioned)
                ),
            ));
        }
    }
    Ok(())
}
