//! `[simulation]` and `[account]`: run-wide settings and the account's concurrency limits and scaling model.

use std::path::Path;

use toml::Spanned;

use super::defaults::*;
use super::error::Source;
use super::not_lambda::NotLambda;
use super::raw::{ModeName, RawAccount, RawNotLambda, RawSimulation, RefillName, ScalingName};
use super::values::{int_in, positive_duration_ns};
use super::{Account, Mode, ScalingModel, ScalingRefill, ScenarioError, Simulation};
use crate::cpu::DEFAULT_PS_PER_FUEL;

/// The range `memory_budget_mb` may take, MB: from 64 MB to 16 TiB.
pub const MEMORY_BUDGET_MB: (i64, i64) = (64, 1 << 24);

pub(super) fn simulation(
    src: &Source,
    path: &Path,
    raw: Option<&Spanned<RawSimulation>>,
) -> Result<Simulation, ScenarioError> {
    let Some(raw) = raw else {
        return Err(src.err(
            &(0..0),
            "missing [simulation] table (it needs at least `duration`, e.g. duration = \"10m\")",
        ));
    };
    let table_span = raw.span();
    let raw = raw.get_ref();

    let name = match &raw.name {
        Some(n) => {
            let trimmed = n.get_ref().trim();
            if trimmed.is_empty() {
                return Err(src.err(&n.span(), "simulation: name must not be empty"));
            }
            trimmed.to_string()
        }
        None => path.file_stem().map_or_else(
            || "scenario".to_string(),
            |s| s.to_string_lossy().into_owned(),
        ),
    };

    let Some(duration) = &raw.duration else {
        return Err(src.err(
            &table_span,
            "simulation: duration is required (e.g. duration = \"10m\")",
        ));
    };
    let duration_ns = positive_duration_ns(src, duration, "simulation: duration")?;

    let seed = match &raw.seed {
        None => SEED,
        Some(s) => {
            let v = *s.get_ref();
            u64::try_from(v)
                .map_err(|_| src.err(&s.span(), format!("simulation: seed = {v} must be ≥ 0")))?
        }
    };

    let mode = match raw.mode.as_ref().map(|m| *m.get_ref()) {
        None | Some(ModeName::Virtual) => Mode::Virtual,
        Some(ModeName::Realtime) => Mode::Realtime,
    };

    let ps_per_fuel = match &raw.ns_per_fuel {
        None => DEFAULT_PS_PER_FUEL,
        Some(v) => {
            let ns = *v.get_ref();
            if !(ns > 0.0 && ns <= 1000.0) {
                return Err(src.err(
                    &v.span(),
                    format!(
                        "simulation: ns_per_fuel = {ns} is outside the allowed range (0, 1000] ns"
                    ),
                ));
            }
            let ps = (ns * 1000.0).round() as u64;
            if ps == 0 {
                return Err(src.err(
                    &v.span(),
                    format!("simulation: ns_per_fuel = {ns} rounds to 0 ps; the smallest usable value is 0.001 ns"),
                ));
            }
            ps
        }
    };

    let memory_budget_mb = match &raw.memory_budget_mb {
        None => None,
        Some(v) => Some(int_in(
            src,
            v,
            "simulation: memory_budget_mb",
            MEMORY_BUDGET_MB.0,
            MEMORY_BUDGET_MB.1,
            "MB",
        )? as u64),
    };

    Ok(Simulation {
        name,
        duration_ns,
        seed,
        seed_given: raw.seed.is_some(),
        mode,
        ps_per_fuel,
        memory_budget_mb,
    })
}

pub(super) fn account(
    src: &Source,
    raw: Option<&Spanned<RawAccount>>,
    raw_not_lambda: Option<&Spanned<RawNotLambda>>,
) -> Result<(Account, NotLambda), ScenarioError> {
    let Some(raw) = raw.map(Spanned::get_ref) else {
        let not_lambda = super::not_lambda::not_lambda(src, raw_not_lambda, CONCURRENCY_LIMIT)?;
        let account = Account {
            concurrency_limit: CONCURRENCY_LIMIT,
            unreserved_minimum: not_lambda
                .unreserved_minimum
                .unwrap_or(lambda_unreserved_minimum(CONCURRENCY_LIMIT)),
            requests_per_environment: not_lambda.requests_per_environment(),
            scaling: default_scaling(),
            scaling_refill: ScalingRefill::Continuous,
            keep_alive_memory_mb: None,
        };
        return Ok((account, not_lambda));
    };

    let concurrency_limit = match &raw.concurrency_limit {
        None => CONCURRENCY_LIMIT,
        Some(v) => int_in(
            src,
            v,
            "account: concurrency_limit",
            1,
            MAX_CONCURRENCY_LIMIT.into(),
            "",
        )? as u32,
    };
    let not_lambda = super::not_lambda::not_lambda(src, raw_not_lambda, concurrency_limit)?;

    // Lambda fixes the unreserved minimum; `[account]` may only restate it. Another value is an experiment, set
    // where the scenario says it leaves Lambda's rules.
    let lambda_minimum = lambda_unreserved_minimum(concurrency_limit);
    if let Some(v) = &raw.unreserved_minimum {
        let x = *v.get_ref();
        if x != i64::from(lambda_minimum) {
            return Err(src.err(
                &v.span(),
                format!(
                    "account: unreserved_minimum = {x}, but Lambda fixes it at min(100, concurrency_limit) = \
                     {lambda_minimum}; to experiment with another value, set it under [not_lambda] \
                     (unreserved_minimum = {x})"
                ),
            ));
        }
    }
    let unreserved_minimum = not_lambda.unreserved_minimum.unwrap_or(lambda_minimum);

    let legacy = matches!(
        raw.scaling.as_ref().map(|s| *s.get_ref()),
        Some(ScalingName::Legacy)
    );
    let scaling = if legacy {
        let burst = match &raw.legacy_burst {
            None => LEGACY_BURST,
            Some(v) => {
                let x = *v.get_ref();
                match LEGACY_BURSTS.iter().find(|b| i64::from(**b) == x) {
                    Some(b) => *b,
                    None => {
                        return Err(src.err(
                            &v.span(),
                            format!("account: legacy_burst = {x} is not one of Lambda's Regional bursts 500, 1000, 3000"),
                        ));
                    }
                }
            }
        };
        ScalingModel::Legacy {
            burst,
            per_minute: LEGACY_PER_MINUTE,
        }
    } else {
        if let Some(v) = &raw.legacy_burst {
            return Err(src.err(
                &v.span(),
                "account: legacy_burst applies only with scaling = \"legacy\" (scaling is \"per-function\")",
            ));
        }
        default_scaling()
    };

    let scaling_refill = match raw.scaling_refill.as_ref().map(|r| *r.get_ref()) {
        None | Some(RefillName::Continuous) => ScalingRefill::Continuous,
        Some(RefillName::Stepwise) => ScalingRefill::Stepwise,
    };

    let keep_alive_memory_mb = match &raw.keep_alive_memory_mb {
        None => None,
        Some(v) => Some(int_in(
            src,
            v,
            "account: keep_alive_memory_mb",
            KEEP_ALIVE_MEMORY_MB_MIN as i64,
            KEEP_ALIVE_MEMORY_MB_MAX as i64,
            "MB",
        )? as u64),
    };

    let account = Account {
        concurrency_limit,
        unreserved_minimum,
        requests_per_environment: not_lambda.requests_per_environment(),
        scaling,
        scaling_refill,
        keep_alive_memory_mb,
    };
    Ok((account, not_lambda))
}

fn default_scaling() -> ScalingModel {
    ScalingModel::PerFunction {
        environments: PER_FUNCTION_ENVIRONMENTS,
        window_ns: PER_FUNCTION_WINDOW_NS,
    }
}
