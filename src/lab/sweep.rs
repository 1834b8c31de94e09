//! `lambda-sim sweep`: a grid of settings (`--set KEY=V1,V2,…`, several `--set`s multiply), each point run on the
//! scenario's traffic, and an optimum picked the way AWS Lambda Power Tuning does — by cost, by speed, or balanced
//! with a weight — but judged on p99 latency, with cold-start statistics alongside.
//!
//! Each point becomes a `[[variant]]` appended to the scenario text, so a point's values go through exactly the
//! scenario's checks; an error in a generated line is reported against the `--set` argument that produced it.

use std::path::Path;

use super::compare::Figures;
use crate::scenario::{ScenarioError, Variant, parse_file};

/// Most points a sweep may have.
pub const MAX_POINTS: usize = 1000;

/// One `--set KEY=V1,V2,…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSpec {
    /// A variant key: `function.<name>.<key>`, `account.<key>`, `traffic.<index>.<key>`, `queue.<name>.<key>` or
    /// `event_source.<index>.<key>`.
    pub key: String,
    pub values: Vec<String>,
}

/// A bad `--set` or a point the scenario's checks refuse.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SweepError {
    #[error("--set {arg}: {message}")]
    Set { arg: String, message: String },
    #[error("the sweep has {points} points; at most {MAX_POINTS} are allowed (use fewer values)")]
    TooManyPoints { points: usize },
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
}

impl SetSpec {
    /// Parses `KEY=V1,V2,…`.
    pub fn parse(arg: &str) -> Result<Self, SweepError> {
        let err = |message: String| SweepError::Set {
            arg: arg.to_string(),
            message,
        };
        let Some((key, values)) = arg.split_once('=') else {
            return Err(err(
                "expected KEY=V1,V2,… (e.g. function.api.memory_mb=128,512,1769)".to_string(),
            ));
        };
        let key = key.trim();
        let parts: Vec<&str> = key.split('.').collect();
        let shape_ok = match parts.first().copied() {
            Some("function") => parts.len() >= 3,
            Some("account" | "trace") => parts.len() >= 2,
            Some("traffic" | "queue" | "event_source" | "service") => parts.len() >= 3,
            _ => false,
        };
        let bare = |p: &&str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !shape_ok || !parts.iter().all(bare) {
            return Err(err(format!(
                "key `{key}` must be function.<name>.<setting>, account.<setting>, traffic.<index>.<setting>, queue.<name>.<setting>, event_source.<index>.<setting>, service.<name>.<setting> or trace.<setting>"
            )));
        }
        let values = split_values(values);
        if values.iter().any(|v| v.is_empty()) {
            return Err(err(
                "a value is empty (write V1,V2,… without empty entries)".to_string(),
            ));
        }
        Ok(SetSpec {
            key: key.to_string(),
            values,
        })
    }

    /// The last part of the key, for point names (`memory_mb=512`).
    pub fn short(&self) -> String {
        let parts: Vec<&str> = self.key.split('.').collect();
        let skip = match parts[0] {
            "function" | "traffic" | "queue" | "event_source" => 2,
            _ => 1,
        };
        parts[skip..].join(".")
    }
}

/// Splits `V1,V2,…` at commas outside quotes, braces and brackets, so inline tables can be values
/// (`{ policy = "fixed", duration = "5m" },{ policy = "hybrid" }`).
fn split_values(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut current) = (0i32, None::<char>, String::new());
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current.trim().to_string());
    out
}

/// Every combination of the specs' values, first spec outermost.
pub fn grid(specs: &[SetSpec]) -> Result<Vec<Vec<usize>>, SweepError> {
    let points = specs
        .iter()
        .try_fold(1usize, |n, s| n.checked_mul(s.values.len()))
        .unwrap_or(usize::MAX);
    if points > MAX_POINTS {
        return Err(SweepError::TooManyPoints { points });
    }
    let mut out = vec![Vec::new()];
    for spec in specs {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..spec.values.len()).map(move |i| {
                    let mut p = prefix.clone();
                    p.push(i);
                    p
                })
            })
            .collect();
    }
    Ok(out)
}

/// A value as TOML: kept when it already is a TOML value (number, boolean, quoted string, inline table), quoted
/// as a string otherwise (`5m` → `"5m"`).
fn toml_value(v: &str) -> String {
    let probe = format!("x = {v}\n");
    if toml::from_str::<toml::Table>(&probe).is_ok() {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

/// The scenario's variants for every point of the grid of `specs`, each named after its values. Variants the file
/// declares itself are ignored: a sweep varies the file as written.
pub fn points(text: &str, path: &Path, specs: &[SetSpec]) -> Result<Vec<Variant>, SweepError> {
    let grid = grid(specs)?;
    // Drop the file's own variants: they would be compared too.
    let base_lines = text.lines().count() + 1;
    let mut full = text.to_string();
    if !full.ends_with('\n') {
        full.push('\n');
    }
    // Line number (1-based) of each generated `key = value` line → (spec, value).
    let mut origins: Vec<(usize, usize, usize)> = Vec::new();
    let mut line = full.lines().count();
    for point in &grid {
        let name = point_name(specs, point);
        full.push_str(&format!("\n[[variant]]\nname = {name:?}\n"));
        line += 3;
        for (s, &v) in point.iter().enumerate() {
            full.push_str(&format!(
                "{} = {}\n",
                specs[s].key,
                toml_value(&specs[s].values[v])
            ));
            line += 1;
            origins.push((line, s, v));
        }
    }
    let file = parse_file(&full, path).map_err(|e| {
        if e.line < base_lines {
            return SweepError::Scenario(e);
        }
        match origins.iter().find(|(l, _, _)| *l == e.line) {
            Some(&(_, s, v)) => SweepError::Set {
                arg: format!("{}={}", specs[s].key, specs[s].values[v]),
                message: strip_variant_prefix(&e.message),
            },
            None => SweepError::Set {
                arg: specs
                    .iter()
                    .map(|s| format!("{}={}", s.key, s.values.join(",")))
                    .collect::<Vec<_>>()
                    .join(" --set "),
                message: strip_variant_prefix(&e.message),
            },
        }
    })?;
    // The file's own variants come first in `variants`; the generated ones are the last `grid.len()`.
    let own = file.variants.len() - grid.len();
    Ok(file.variants.into_iter().skip(own).collect())
}

fn strip_variant_prefix(message: &str) -> String {
    match message.strip_prefix("variant \"") {
        Some(rest) => match rest.find("\": ") {
            Some(i) => rest[i + 3..].to_string(),
            None => message.to_string(),
        },
        None => message.to_string(),
    }
}

fn point_name(specs: &[SetSpec], point: &[usize]) -> String {
    point
        .iter()
        .enumerate()
        .map(|(s, &v)| format!("{}={}", specs[s].short(), specs[s].values[v]))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How to pick the optimum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// The cheapest point; ties go to the lower p99.
    Cost,
    /// The lowest p99; ties go to the cheaper point.
    Speed,
    /// The lowest `weight × cost/max cost + (1 − weight) × p99/max p99` (Power Tuning's balanced strategy, with
    /// p99 in place of the mean duration). `weight` is in [0, 1]: 1 is pure cost, 0 pure speed.
    Balanced { weight: f64 },
}

/// The index of the optimum among points with figures `f`, skipping points that throttled or failed more than the
/// best point did (an optimum must serve the traffic); `None` when there are no points.
pub fn optimum(f: &[Figures], strategy: Strategy) -> Option<usize> {
    let least_failed = f.iter().map(|x| x.throttles + x.errors).min()?;
    let eligible: Vec<usize> = (0..f.len())
        .filter(|&i| f[i].throttles + f[i].errors == least_failed)
        .collect();
    let max_cost = eligible.iter().map(|&i| f[i].cost_usd).fold(0.0, f64::max);
    let max_p99 = eligible.iter().map(|&i| f[i].p99_ms).fold(0.0, f64::max);
    let norm = |x: f64, max: f64| if max > 0.0 { x / max } else { 0.0 };
    let key = |i: usize| -> (f64, f64) {
        let x = &f[i];
        match strategy {
            Strategy::Cost => (x.cost_usd, x.p99_ms),
            Strategy::Speed => (x.p99_ms, x.cost_usd),
            Strategy::Balanced { weight } => (
                weight * norm(x.cost_usd, max_cost) + (1.0 - weight) * norm(x.p99_ms, max_p99),
                x.cost_usd,
            ),
        }
    };
    // First minimum in grid order: deterministic.
    eligible.into_iter().min_by(|&a, &b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_specs_parse_and_reject_bad_shapes() {
        let s = SetSpec::parse("function.api.memory_mb=128, 512,1769")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.key, "function.api.memory_mb");
        assert_eq!(s.values, vec!["128", "512", "1769"]);
        assert_eq!(s.short(), "memory_mb");
        for (arg, msg) in [
            ("memory_mb", "expected KEY=V1,V2,…"),
            ("simulation.seed=1,2", "key `simulation.seed` must be"),
            ("function.api=1", "key `function.api` must be"),
            ("account.concurrency_limit=1,,2", "a value is empty"),
        ] {
            match SetSpec::parse(arg) {
                Err(e) => assert!(e.to_string().contains(msg), "{arg}: {e}"),
                Ok(s) => panic!("{arg} parsed as {s:?}"),
            }
        }
    }

    #[test]
    fn the_grid_multiplies_specs_first_outermost() {
        let a = SetSpec::parse("account.concurrency_limit=1,2").unwrap_or_else(|e| panic!("{e}"));
        let b =
            SetSpec::parse("function.f.memory_mb=128,256,512").unwrap_or_else(|e| panic!("{e}"));
        let g = grid(&[a, b]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], vec![0, 0]);
        assert_eq!(g[1], vec![0, 1]);
        assert_eq!(g[3], vec![1, 0]);
        let big = SetSpec {
            key: "account.concurrency_limit".into(),
            values: (0..40).map(|i| i.to_string()).collect(),
        };
        assert!(matches!(
            grid(&[big.clone(), big]),
            Err(SweepError::TooManyPoints { points: 1600 })
        ));
    }

    #[test]
    fn values_split_at_commas_outside_tables_and_quotes() {
        assert_eq!(
            split_values(r#"{ policy = "fixed", duration = "5m" },{ policy = "hybrid" }, "a,b""#),
            vec![
                r#"{ policy = "fixed", duration = "5m" }"#,
                r#"{ policy = "hybrid" }"#,
                r#""a,b""#
            ]
        );
        assert_eq!(split_values("1, 2,3"), vec!["1", "2", "3"]);
    }

    #[test]
    fn values_that_are_not_toml_become_strings() {
        assert_eq!(toml_value("512"), "512");
        assert_eq!(toml_value("0.5"), "0.5");
        assert_eq!(toml_value("5m"), "\"5m\"");
        assert_eq!(toml_value("\"x\""), "\"x\"");
    }

    fn figures(cost: f64, p99: f64, throttles: u64) -> Figures {
        Figures {
            fn_cold_pct: 0.0,
            invocations: 100,
            cold_pct: 0.0,
            p50_ms: 0.0,
            p99_ms: p99,
            p999_ms: 0.0,
            cold_p50_ms: 0.0,
            cold_p99_ms: 0.0,
            cold_p999_ms: 0.0,
            throttles,
            errors: 0,
            cost_usd: cost,
            idle_gb_s: 0.0,
            pings: 0,
        }
    }

    #[test]
    fn the_optimum_follows_the_strategy_among_points_that_serve_the_traffic() {
        // 128 MB: cheap but slow; 1769: fast, dearer; 3008: no faster, dearest; a throttling point is excluded.
        let f = [
            figures(1.0, 400.0, 0),
            figures(1.6, 60.0, 0),
            figures(2.5, 59.0, 0),
            figures(0.5, 30.0, 10),
        ];
        assert_eq!(optimum(&f, Strategy::Cost), Some(0));
        assert_eq!(optimum(&f, Strategy::Speed), Some(2));
        assert_eq!(optimum(&f, Strategy::Balanced { weight: 0.5 }), Some(1));
        assert_eq!(optimum(&f, Strategy::Balanced { weight: 1.0 }), Some(0));
        assert_eq!(optimum(&[], Strategy::Cost), None);
    }
}
