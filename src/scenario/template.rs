//! Payload templates: a TOML table rendered as a JSON event per request, in which tables with a `distribution` key
//! are seeded samples (`integer = true` rounds them) and everything else is literal.
//!
//! Object keys keep the order written in the file (recovered from spans, see [`super::node`]). Inside arrays, values
//! are literal only: a table there becomes a JSON object whose keys serde_json sorts alphabetically (it is built
//! without `preserve_order`), and a distribution there is an error. Datetimes become strings.

use toml::Spanned;

use super::distribution::parse_distribution;
use super::error::Source;
use super::node::TomlNode;
use super::{PayloadTemplate, ScenarioError};

/// Converts the value of `payload_template`. `what` names it (`traffic[0]: payload_template`).
pub(crate) fn template(
    src: &Source,
    node: &Spanned<TomlNode>,
    what: &str,
) -> Result<PayloadTemplate, ScenarioError> {
    match node.get_ref() {
        TomlNode::Table(entries) => {
            if node.get_ref().get("distribution").is_some() {
                let (distribution, integer) = parse_distribution(src, node, what, true)?;
                return Ok(PayloadTemplate::Sample {
                    distribution,
                    integer,
                });
            }
            let mut fields = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                fields.push((key.clone(), template(src, value, &format!("{what}.{key}"))?));
            }
            Ok(PayloadTemplate::Object(fields))
        }
        _ => Ok(PayloadTemplate::Literal(literal(src, node, what)?)),
    }
}

/// A TOML value as plain JSON.
fn literal(
    src: &Source,
    node: &Spanned<TomlNode>,
    what: &str,
) -> Result<serde_json::Value, ScenarioError> {
    use serde_json::Value;
    Ok(match node.get_ref() {
        TomlNode::String(s) | TomlNode::Datetime(s) => Value::String(s.clone()),
        TomlNode::Integer(i) => Value::from(*i),
        TomlNode::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None => {
                return Err(src.err(
                    &node.span(),
                    format!("{what} = {f} cannot be represented in JSON"),
                ));
            }
        },
        TomlNode::Boolean(b) => Value::Bool(*b),
        TomlNode::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(literal(src, item, &format!("{what}[{i}]"))?);
            }
            Value::Array(out)
        }
        TomlNode::Table(entries) => {
            if node.get_ref().get("distribution").is_some() {
                return Err(src.err(
                    &node.span(),
                    format!("{what}: distributions inside arrays are not supported; use a table field instead"),
                ));
            }
            let mut map = serde_json::Map::new();
            for (key, value) in entries {
                map.insert(key.clone(), literal(src, value, &format!("{what}.{key}"))?);
            }
            Value::Object(map)
        }
    })
}
