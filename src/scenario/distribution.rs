//! [`Distribution`]: parsing and checking `{ distribution = "…", … }` tables, and sampling.
//!
//! Forms (parameters in the units of the field using them):
//! `{ distribution = "constant", value }`, `uniform { min, max }`, `exponential { mean }`,
//! `normal { mean, stddev }`, `lognormal { median, sigma }`, `empirical { values = […], weights = […] }`.

use std::ops::Range;

use toml::Spanned;

use super::error::Source;
use super::node::TomlNode;
use super::{Distribution, ScenarioError};

/// The parameters each kind takes (the `distribution` key and, in templates, `integer` come on top).
fn params(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "constant" => &["value"],
        "uniform" => &["min", "max"],
        "exponential" => &["mean"],
        "normal" => &["mean", "stddev"],
        "lognormal" => &["median", "sigma"],
        "empirical" => &["values", "weights"],
        _ => return None,
    })
}

const KINDS: &str = "constant, uniform, exponential, normal, lognormal, empirical";

/// Parses a distribution table. `what` names the field (`function "api": cold_start.placement_ms`). With
/// `allow_integer` (payload templates) an `integer = true|false` key is accepted and returned.
pub(crate) fn parse_distribution(
    src: &Source,
    node: &Spanned<TomlNode>,
    what: &str,
    allow_integer: bool,
) -> Result<(Distribution, bool), ScenarioError> {
    let span = node.span();
    let TomlNode::Table(entries) = node.get_ref() else {
        return Err(src.err(
            &span,
            format!(
                "{what} must be a distribution table such as {{ distribution = \"exponential\", mean = 500 }}, \
                 found {}",
                node.get_ref().type_name()
            ),
        ));
    };
    let Some(kind_node) = node.get_ref().get("distribution") else {
        return Err(src.err(
            &span,
            format!("{what} needs a `distribution` key (one of {KINDS})"),
        ));
    };
    let TomlNode::String(kind) = kind_node.get_ref() else {
        return Err(src.err(
            &kind_node.span(),
            format!("{what}.distribution must be a string (one of {KINDS})"),
        ));
    };
    let Some(allowed) = params(kind) else {
        return Err(src.err(
            &kind_node.span(),
            format!("{what}.distribution = \"{kind}\" is not one of {KINDS}"),
        ));
    };
    let mut integer = false;
    for (key, value) in entries {
        if key == "distribution" || allowed.contains(&key.as_str()) {
            continue;
        }
        if allow_integer && key == "integer" {
            match value.get_ref() {
                TomlNode::Boolean(b) => integer = *b,
                other => {
                    return Err(src.err(
                        &value.span(),
                        format!(
                            "{what}.integer must be true or false, found {}",
                            other.type_name()
                        ),
                    ));
                }
            }
            continue;
        }
        let mut expected = allowed.join(", ");
        if allow_integer {
            expected.push_str(", integer");
        }
        return Err(src.err(
            &value.span(),
            format!(
                "{what}: unknown field `{key}` for distribution \"{kind}\" (expected {expected})"
            ),
        ));
    }

    let p = Params {
        src,
        node,
        what,
        kind,
        span: &span,
    };
    let dist = match kind.as_str() {
        "constant" => Distribution::Constant {
            value: p.num("value")?.0,
        },
        "uniform" => {
            let (min, _) = p.num("min")?;
            let (max, max_span) = p.num("max")?;
            if min > max {
                return Err(src.err(
                    &max_span,
                    format!("{what}: uniform max = {max} is below min = {min}"),
                ));
            }
            Distribution::Uniform { min, max }
        }
        "exponential" => Distribution::Exponential {
            mean: p.positive("mean")?,
        },
        "normal" => {
            let (mean, _) = p.num("mean")?;
            Distribution::Normal {
                mean,
                stddev: p.non_negative("stddev")?,
            }
        }
        "lognormal" => Distribution::LogNormal {
            median: p.positive("median")?,
            sigma: p.non_negative("sigma")?,
        },
        _ => p.empirical()?,
    };
    Ok((dist, integer))
}

struct Params<'a, 'b> {
    src: &'a Source<'b>,
    node: &'a Spanned<TomlNode>,
    what: &'a str,
    kind: &'a str,
    span: &'a Range<usize>,
}

impl Params<'_, '_> {
    fn field(&self, key: &str) -> Result<&Spanned<TomlNode>, ScenarioError> {
        self.node.get_ref().get(key).ok_or_else(|| {
            self.src.err(
                self.span,
                format!(
                    "{}: distribution \"{}\" needs `{key}`",
                    self.what, self.kind
                ),
            )
        })
    }

    fn num(&self, key: &str) -> Result<(f64, Range<usize>), ScenarioError> {
        let v = self.field(key)?;
        number(self.src, v, &format!("{}.{key}", self.what)).map(|x| (x, v.span()))
    }

    fn positive(&self, key: &str) -> Result<f64, ScenarioError> {
        let (x, span) = self.num(key)?;
        if x > 0.0 {
            Ok(x)
        } else {
            Err(self
                .src
                .err(&span, format!("{}.{key} = {x} must be > 0", self.what)))
        }
    }

    fn non_negative(&self, key: &str) -> Result<f64, ScenarioError> {
        let (x, span) = self.num(key)?;
        if x >= 0.0 {
            Ok(x)
        } else {
            Err(self
                .src
                .err(&span, format!("{}.{key} = {x} must be ≥ 0", self.what)))
        }
    }

    fn list(&self, key: &str) -> Result<Option<Spanned<Vec<f64>>>, ScenarioError> {
        let Some(v) = self.node.get_ref().get(key) else {
            return Ok(None);
        };
        let TomlNode::Array(items) = v.get_ref() else {
            return Err(self.src.err(
                &v.span(),
                format!(
                    "{}.{key} must be an array of numbers, found {}",
                    self.what,
                    v.get_ref().type_name()
                ),
            ));
        };
        let what = format!("{}.{key}", self.what);
        let values = items
            .iter()
            .map(|i| number(self.src, i, &what))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Spanned::new(v.span(), values)))
    }

    fn empirical(&self) -> Result<Distribution, ScenarioError> {
        let what = self.what;
        let Some(values) = self.list("values")? else {
            return Err(self.src.err(
                self.span,
                format!("{what}: distribution \"empirical\" needs `values`"),
            ));
        };
        let values_span = values.span();
        let values = values.into_inner();
        if values.is_empty() {
            return Err(self
                .src
                .err(&values_span, format!("{what}.values must not be empty")));
        }
        let weights = match self.list("weights")? {
            None => Vec::new(),
            Some(weights) => {
                let span = weights.span();
                let weights = weights.into_inner();
                if weights.len() != values.len() {
                    return Err(self.src.err(
                        &span,
                        format!(
                            "{what}.weights has {} entries but values has {}; they must have the same length",
                            weights.len(),
                            values.len()
                        ),
                    ));
                }
                if let Some(w) = weights.iter().find(|w| **w < 0.0) {
                    return Err(self.src.err(
                        &span,
                        format!("{what}.weights: {w} is negative; weights must be ≥ 0"),
                    ));
                }
                if weights.iter().sum::<f64>() <= 0.0 || !weights.iter().sum::<f64>().is_finite() {
                    return Err(self.src.err(
                        &span,
                        format!("{what}.weights must have a positive, finite sum"),
                    ));
                }
                weights
            }
        };
        Ok(Distribution::Empirical { values, weights })
    }
}

/// A finite number (integer or float).
pub(crate) fn number(
    src: &Source,
    v: &Spanned<TomlNode>,
    what: &str,
) -> Result<f64, ScenarioError> {
    match v.get_ref().as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        Some(x) => Err(src.err(&v.span(), format!("{what} = {x} must be a finite number"))),
        None => Err(src.err(
            &v.span(),
            format!("{what} must be a number, found {}", v.get_ref().type_name()),
        )),
    }
}
