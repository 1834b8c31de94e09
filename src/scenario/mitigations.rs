//! Mitigation settings of a `[[function]]` that are not plain numbers: warmers (and provisioned concurrency
//! schedules and auto scaling). Each is documented in `docs/mitigations.md`.

use toml::Spanned;

use super::error::Source;
use super::raw::{RawFunction, RawScheduledAction, RawTargetTracking, RawWarmer};
use super::values::{duration_ns, positive_duration_ns};
use super::{ScenarioError, TargetTracking, Warmer};

/// Most simultaneous pings a warmer may send.
pub const WARMER_MAX_CONCURRENCY: i64 = 1000;

/// The payload warmers send by default (serverless-plugin-warmup's marker field, so handlers can return early).
pub const WARMER_PAYLOAD: &str = r#"{"source":"serverless-plugin-warmup","warmer":true}"#;

/// `warmer = { every = "5m", concurrency = 1, payload = '…' }`.
pub(super) fn warmer(
    src: &Source,
    raw: &Spanned<RawWarmer>,
    what: &str,
) -> Result<Warmer, ScenarioError> {
    let r = raw.get_ref();
    let Some(every) = &r.every else {
        return Err(src.err(
            &raw.span(),
            format!("{what}: warmer.every is required (e.g. every = \"5m\")"),
        ));
    };
    let every_ns = positive_duration_ns(src, every, &format!("{what}: warmer.every"))?;
    let concurrency = match &r.concurrency {
        None => 1,
        Some(v) => {
            let c = *v.get_ref();
            if !(1..=WARMER_MAX_CONCURRENCY).contains(&c) {
                return Err(src.err(
                    &v.span(),
                    format!("{what}: warmer.concurrency = {c} is outside the allowed range 1–{WARMER_MAX_CONCURRENCY}"),
                ));
            }
            c as u32
        }
    };
    let payload = match &r.payload {
        None => WARMER_PAYLOAD.to_string(),
        Some(p) => {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(p.get_ref()) {
                return Err(src.err(
                    &p.span(),
                    format!("{what}: warmer.payload is not valid JSON: {e}"),
                ));
            }
            p.get_ref().clone()
        }
    };
    Ok(Warmer {
        every_ns,
        concurrency,
        payload,
    })
}

/// Scheduled actions (time, count) and target tracking, as `FunctionSpec` holds them.
pub(super) type DynamicProvisioned = (Vec<(u64, u32)>, Option<TargetTracking>);

/// A function's `provisioned_schedule` and `provisioned_autoscaling`: at most one of them, and neither with
/// `snapshot = true` (SnapStart does not support provisioned concurrency).
pub(super) fn dynamic_provisioned(
    src: &Source,
    raw: &RawFunction,
    reserved: Option<u32>,
    snapshot: bool,
    what: &str,
) -> Result<DynamicProvisioned, ScenarioError> {
    if let (Some(_), Some(t)) = (&raw.provisioned_schedule, &raw.provisioned_autoscaling) {
        return Err(src.err(
            &t.span(),
            format!("{what}: provisioned_schedule and provisioned_autoscaling cannot both be set; use one of them"),
        ));
    }
    let schedule = match &raw.provisioned_schedule {
        None => Vec::new(),
        Some(s) => schedule(src, s, reserved, what)?,
    };
    let autoscaling = match &raw.provisioned_autoscaling {
        None => None,
        Some(t) => Some(target_tracking(src, t, reserved, what)?),
    };
    if snapshot {
        let span = match (&raw.provisioned_schedule, &raw.provisioned_autoscaling) {
            (Some(s), _)
                if s.get_ref()
                    .iter()
                    .any(|a| a.get_ref().count.as_ref().is_some_and(|c| *c.get_ref() > 0)) =>
            {
                Some(s.span())
            }
            (_, Some(t)) => Some(t.span()),
            _ => None,
        };
        if let Some(span) = span {
            return Err(src.err(
                &span,
                format!("{what}: snapshot = true cannot be combined with provisioned concurrency (schedule or auto scaling): Lambda SnapStart does not support provisioned concurrency"),
            ));
        }
    }
    Ok((schedule, autoscaling))
}

/// `provisioned_schedule = [{ at = "30m", count = 20 }, …]`: scheduled actions, strictly increasing in time.
fn schedule(
    src: &Source,
    raw: &Spanned<Vec<Spanned<RawScheduledAction>>>,
    reserved: Option<u32>,
    what: &str,
) -> Result<Vec<(u64, u32)>, ScenarioError> {
    let mut out: Vec<(u64, u32)> = Vec::new();
    for (i, action) in raw.get_ref().iter().enumerate() {
        let field = format!("{what}: provisioned_schedule[{i}]");
        let a = action.get_ref();
        let Some(at) = &a.at else {
            return Err(src.err(
                &action.span(),
                format!("{field}: at is required (e.g. at = \"30m\")"),
            ));
        };
        let at_ns = duration_ns(src, at, &format!("{field}.at"))?;
        if let Some(&(prev, _)) = out.last()
            && at_ns <= prev
        {
            return Err(src.err(
                &at.span(),
                format!(
                    "{field}.at = {} must be later than the previous action's",
                    at.get_ref()
                ),
            ));
        }
        let Some(count) = &a.count else {
            return Err(src.err(&action.span(), format!("{field}: count is required")));
        };
        let count = provisioned_count(src, count, reserved, &format!("{field}.count"))?;
        out.push((at_ns, count));
    }
    Ok(out)
}

/// `provisioned_autoscaling = { min = 1, max = 50, target = 0.7 }`.
fn target_tracking(
    src: &Source,
    raw: &Spanned<RawTargetTracking>,
    reserved: Option<u32>,
    what: &str,
) -> Result<TargetTracking, ScenarioError> {
    let r = raw.get_ref();
    let field = format!("{what}: provisioned_autoscaling");
    let (Some(min_v), Some(max_v)) = (&r.min, &r.max) else {
        return Err(src.err(
            &raw.span(),
            format!(
                "{field}: min and max are required (e.g. {{ min = 1, max = 50, target = 0.7 }})"
            ),
        ));
    };
    let min = provisioned_count(src, min_v, reserved, &format!("{field}.min"))?;
    let max = provisioned_count(src, max_v, reserved, &format!("{field}.max"))?;
    if max < min.max(1) {
        return Err(src.err(
            &max_v.span(),
            format!("{field}.max = {max} must be at least 1 and at least min ({min})"),
        ));
    }
    let target = match &r.target {
        None => DEFAULT_TARGET,
        Some(v) => {
            let t = *v.get_ref();
            if !(0.1..=0.9).contains(&t) {
                return Err(src.err(
                    &v.span(),
                    format!("{field}.target = {t} is outside the allowed range 0.1–0.9 (AWS: \"any value between 10% and 90%\")"),
                ));
            }
            t
        }
    };
    let datapoints = |v: &Option<Spanned<i64>>, default: u32, name: &str| match v {
        None => Ok(default),
        Some(v) => {
            let n = *v.get_ref();
            if (1..=60).contains(&n) {
                Ok(n as u32)
            } else {
                Err(src.err(
                    &v.span(),
                    format!("{field}.{name} = {n} is outside the allowed range 1–60"),
                ))
            }
        }
    };
    Ok(TargetTracking {
        min,
        max,
        target,
        scale_out_datapoints: datapoints(
            &r.scale_out_datapoints,
            SCALE_OUT_DATAPOINTS,
            "scale_out_datapoints",
        )?,
        scale_in_datapoints: datapoints(
            &r.scale_in_datapoints,
            SCALE_IN_DATAPOINTS,
            "scale_in_datapoints",
        )?,
    })
}

/// Target utilization when none is given: the AWS documentation's example value (there is no default).
pub const DEFAULT_TARGET: f64 = 0.7;
/// Datapoints (one a minute) above target before the scale-out alarm fires.
pub const SCALE_OUT_DATAPOINTS: u32 = 3;
/// Datapoints below 90 % of target before the scale-in alarm fires.
pub const SCALE_IN_DATAPOINTS: u32 = 15;

fn provisioned_count(
    src: &Source,
    v: &Spanned<i64>,
    reserved: Option<u32>,
    field: &str,
) -> Result<u32, ScenarioError> {
    let n = *v.get_ref();
    let max = i64::from(reserved.unwrap_or(crate::scenario::defaults::MAX_CONCURRENCY_LIMIT));
    if !(0..=max).contains(&n) {
        let why = match reserved {
            Some(r) => format!("0–{r} (at most the reserved concurrency)"),
            None => format!("0–{max}"),
        };
        return Err(src.err(
            &v.span(),
            format!("{field} = {n} is outside the allowed range {why}"),
        ));
    }
    Ok(n as u32)
}
