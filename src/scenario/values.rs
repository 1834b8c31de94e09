//! Checking single values against their allowed ranges, with messages that name the field, the value and the range.

use std::time::Duration;

use toml::Spanned;

use super::ScenarioError;
use super::error::Source;
use super::raw::DurationValue;

/// The longest duration accepted anywhere (~292 years fits in u64 nanoseconds; keep well inside it).
const MAX_DURATION_NS: u64 = 100 * 365 * 24 * 3600 * 1_000_000_000;

/// Shows a duration in nanoseconds the way a scenario would write it ("10m", "1h 30m", "250ms").
pub(crate) fn show_ns(ns: u64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    humantime::format_duration(Duration::from_nanos(ns)).to_string()
}

/// Converts a written duration to nanoseconds. `what` is the field path ("simulation: duration").
pub(crate) fn duration_ns(
    src: &Source,
    v: &Spanned<DurationValue>,
    what: &str,
) -> Result<u64, ScenarioError> {
    let span = v.span();
    let ns = match v.get_ref() {
        // A number in a string ("90") is seconds too.
        DurationValue::Text(text) if text.trim().parse::<f64>().is_ok() => {
            let seconds = Spanned::new(
                span.clone(),
                DurationValue::Seconds(text.trim().parse().unwrap_or(0.0)),
            );
            return duration_ns(src, &seconds, what);
        }
        DurationValue::Text(text) => {
            let parsed = humantime::parse_duration(text.trim()).map_err(|e| {
                src.err(
                    &span,
                    format!(
                        "{what} = {text:?} is not a duration ({e}); write e.g. \"90s\", \"10m\", \"1h 30m\", \
                         \"250ms\" or a number of seconds"
                    ),
                )
            })?;
            u64::try_from(parsed.as_nanos()).unwrap_or(u64::MAX)
        }
        DurationValue::Seconds(s) => {
            if !s.is_finite() || *s < 0.0 {
                return Err(src.err(
                    &span,
                    format!("{what} = {s} must be a non-negative number of seconds"),
                ));
            }
            let ns = (s * 1e9).round();
            if ns >= u64::MAX as f64 {
                u64::MAX
            } else {
                ns as u64
            }
        }
    };
    if ns > MAX_DURATION_NS {
        return Err(src.err(
            &span,
            format!(
                "{what} = {} is longer than the longest allowed, 100 years",
                v.get_ref()
            ),
        ));
    }
    Ok(ns)
}

/// A duration that must be > 0.
pub(crate) fn positive_duration_ns(
    src: &Source,
    v: &Spanned<DurationValue>,
    what: &str,
) -> Result<u64, ScenarioError> {
    let ns = duration_ns(src, v, what)?;
    if ns == 0 {
        return Err(src.err(
            &v.span(),
            format!("{what} = {} must be longer than 0", v.get_ref()),
        ));
    }
    Ok(ns)
}

/// An integer in `min..=max`; `unit` is appended to the range in the message (may be empty).
pub(crate) fn int_in(
    src: &Source,
    v: &Spanned<i64>,
    what: &str,
    min: i64,
    max: i64,
    unit: &str,
) -> Result<i64, ScenarioError> {
    let x = *v.get_ref();
    if (min..=max).contains(&x) {
        Ok(x)
    } else {
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        };
        Err(src.err(
            &v.span(),
            format!("{what} = {x} is outside the allowed range {min}–{max}{unit}"),
        ))
    }
}

/// A rate in requests per second: finite, ≤ `MAX_RATE`, and > 0 (or ≥ 0 with `allow_zero`).
pub(crate) fn rate(
    src: &Source,
    v: &Spanned<f64>,
    what: &str,
    allow_zero: bool,
) -> Result<f64, ScenarioError> {
    let x = *v.get_ref();
    let ok = if allow_zero { x >= 0.0 } else { x > 0.0 };
    if ok && x <= MAX_RATE {
        Ok(x)
    } else {
        let low = if allow_zero { "[0" } else { "(0" };
        Err(src.err(
            &v.span(),
            format!("{what} = {x} is outside the allowed range {low}, {MAX_RATE}] requests/s"),
        ))
    }
}

/// The highest arrival rate any pattern may ask for, requests per second.
pub const MAX_RATE: f64 = 1e7;
