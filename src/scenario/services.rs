//! `[[service]]` tables: simulated downstream services that handlers call by name (ABI v2 `service_call`).
//!
//! ```toml
//! [[service]]
//! name = "db"                                                  # required, unique, 1–64 of A-Za-z0-9-_
//! latency_ms = { distribution = "lognormal", median = 8, sigma = 0.5 }   # required, any distribution
//! error_rate = 0.001                                           # 0–1, default 0
//! connections = { model = "per_sandbox", limit = 100 }         # optional; or
//! connections = { model = "proxy", pool = 20, max_client_connections = 1000, borrow_timeout = "120s" }
//! ```
//!
//! The rules these settings drive are in [`crate::model::services`].

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::ScenarioError;
use super::distribution::parse_distribution;
use super::error::{Source, line_col};
use super::node::TomlNode;
use super::raw::DurationValue;
use super::values::{duration_ns, int_in};
use crate::model::services::{ConnectionModel, DEFAULT_BORROW_TIMEOUT_NS, ServiceSpec};

/// Longest service name.
const SERVICE_NAME_MAX: usize = 64;
/// Most connections a limit or pool may name (a large database's `max_connections` is in the thousands).
const CONNECTIONS_MAX: i64 = 1_000_000;
/// Longest borrow timeout RDS Proxy accepts: 3,600 s (`ConnectionBorrowTimeout`, 0–3,600 s).
const BORROW_TIMEOUT_MAX_NS: u64 = 3_600 * 1_000_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub name: Option<Spanned<String>>,
    pub latency_ms: Option<Spanned<TomlNode>>,
    pub error_rate: Option<Spanned<f64>>,
    pub connections: Option<Spanned<RawConnections>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConnections {
    pub model: Option<Spanned<String>>,
    pub limit: Option<Spanned<i64>>,
    pub pool: Option<Spanned<i64>>,
    pub max_client_connections: Option<Spanned<i64>>,
    pub borrow_timeout: Option<Spanned<DurationValue>>,
}

/// Every `[[service]]`: names unique, latency a distribution, error rate in 0–1, a connection model that makes sense.
pub(super) fn services(
    src: &Source,
    raws: &[Spanned<RawService>],
) -> Result<Vec<ServiceSpec>, ScenarioError> {
    let mut lines: BTreeMap<String, usize> = BTreeMap::new();
    let mut specs = Vec::with_capacity(raws.len());
    for raw in raws {
        let r = raw.get_ref();
        let Some(name_v) = &r.name else {
            return Err(src.err(&raw.span(), "service: name is required"));
        };
        let name = name_v.get_ref().clone();
        let ok = (1..=SERVICE_NAME_MAX).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(src.err(
                &name_v.span(),
                format!(
                    "service name {name:?} must be 1–{SERVICE_NAME_MAX} characters of A–Z, a–z, 0–9, - and _"
                ),
            ));
        }
        let line = line_col(src.text, name_v.span().start).0;
        if let Some(first) = lines.insert(name.clone(), line) {
            return Err(src.err(
                &name_v.span(),
                format!("service \"{name}\" is declared twice (first at line {first})"),
            ));
        }
        let what = format!("service \"{name}\"");
        let Some(latency) = &r.latency_ms else {
            return Err(src.err(
                &raw.span(),
                format!(
                    "{what}: latency_ms is required, e.g. {{ distribution = \"lognormal\", median = 8, sigma = 0.5 }}"
                ),
            ));
        };
        let latency_ms = parse_distribution(src, latency, &format!("{what}: latency_ms"), false)?.0;
        let error_rate = match &r.error_rate {
            None => 0.0,
            Some(v) => {
                let x = *v.get_ref();
                if !(0.0..=1.0).contains(&x) {
                    return Err(src.err(
                        &v.span(),
                        format!("{what}: error_rate = {x} is outside the allowed range 0–1"),
                    ));
                }
                x
            }
        };
        let connections = match &r.connections {
            None => None,
            Some(c) => Some(connections(src, c, &what)?),
        };
        specs.push(ServiceSpec {
            name,
            latency_ms,
            error_rate,
            connections,
        });
    }
    Ok(specs)
}

fn connections(
    src: &Source,
    raw: &Spanned<RawConnections>,
    what: &str,
) -> Result<ConnectionModel, ScenarioError> {
    let c = raw.get_ref();
    let count = |v: &Spanned<i64>, field: &str| -> Result<u32, ScenarioError> {
        Ok(int_in(
            src,
            v,
            &format!("{what}: connections.{field}"),
            1,
            CONNECTIONS_MAX,
            "connections",
        )? as u32)
    };
    // A key that belongs to the other model is a mistake worth naming.
    let stray = |v: Option<&Spanned<i64>>, field: &str, model: &str| -> Result<(), ScenarioError> {
        match v {
            Some(v) => Err(src.err(
                &v.span(),
                format!("{what}: connections.{field} does not apply to model \"{model}\""),
            )),
            None => Ok(()),
        }
    };
    let Some(model_v) = &c.model else {
        return Err(src.err(
            &raw.span(),
            format!("{what}: connections.model is required (\"per_sandbox\" or \"proxy\")"),
        ));
    };
    match model_v.get_ref().as_str() {
        "per_sandbox" => {
            stray(c.pool.as_ref(), "pool", "per_sandbox")?;
            stray(
                c.max_client_connections.as_ref(),
                "max_client_connections",
                "per_sandbox",
            )?;
            if let Some(v) = &c.borrow_timeout {
                return Err(src.err(
                    &v.span(),
                    format!(
                        "{what}: connections.borrow_timeout does not apply to model \"per_sandbox\""
                    ),
                ));
            }
            let Some(limit) = &c.limit else {
                return Err(src.err(
                    &raw.span(),
                    format!(
                        "{what}: connections.limit is required with model \"per_sandbox\" (the database's max_connections)"
                    ),
                ));
            };
            Ok(ConnectionModel::PerSandbox {
                limit: count(limit, "limit")?,
            })
        }
        "proxy" => {
            stray(c.limit.as_ref(), "limit", "proxy")?;
            let Some(pool) = &c.pool else {
                return Err(src.err(
                    &raw.span(),
                    format!(
                        "{what}: connections.pool is required with model \"proxy\" (database connections the proxy shares)"
                    ),
                ));
            };
            let borrow_timeout_ns = match &c.borrow_timeout {
                None => DEFAULT_BORROW_TIMEOUT_NS,
                Some(v) => {
                    let ns = duration_ns(src, v, &format!("{what}: connections.borrow_timeout"))?;
                    if ns > BORROW_TIMEOUT_MAX_NS {
                        return Err(src.err(
                            &v.span(),
                            format!(
                                "{what}: connections.borrow_timeout = {} is outside the allowed range 0 s–3,600 s (0 = wait until the invocation's deadline)",
                                v.get_ref()
                            ),
                        ));
                    }
                    ns
                }
            };
            Ok(ConnectionModel::Proxy {
                pool: count(pool, "pool")?,
                max_client_connections: match &c.max_client_connections {
                    None => None,
                    Some(v) => Some(count(v, "max_client_connections")?),
                },
                borrow_timeout_ns,
            })
        }
        other => Err(src.err(
            &model_v.span(),
            format!(
                "{what}: connections.model = \"{other}\" is not one of \"per_sandbox\", \"proxy\""
            ),
        )),
    }
}
