//! A TOML value that keeps what serde-derived structs lose: the span of every value and the order in which a
//! table's keys were written.
//!
//! toml 0.9 is built here without `preserve_order`, so its tables are sorted maps. [`TomlNode`] recovers the written
//! order by sorting a table's entries by the position of their values in the file. It is used for fields whose
//! shape is open (distributions, payload templates), which the scenario code then checks by hand.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

/// The key under which toml hands a datetime to serde (toml_datetime's private field name).
const DATETIME_FIELD: &str = "$__toml_private_datetime";

#[derive(Debug, Clone)]
pub(crate) enum TomlNode {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// Offset or local date/time, as written.
    Datetime(String),
    Array(Vec<Spanned<TomlNode>>),
    /// Entries in the order written in the file.
    Table(Vec<(String, Spanned<TomlNode>)>),
}

impl TomlNode {
    pub fn type_name(&self) -> &'static str {
        match self {
            TomlNode::String(_) => "a string",
            TomlNode::Integer(_) => "an integer",
            TomlNode::Float(_) => "a float",
            TomlNode::Boolean(_) => "a boolean",
            TomlNode::Datetime(_) => "a datetime",
            TomlNode::Array(_) => "an array",
            TomlNode::Table(_) => "a table",
        }
    }

    /// The value as a number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            TomlNode::Integer(i) => Some(i as f64),
            TomlNode::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The entry `key` of a table.
    pub fn get(&self, key: &str) -> Option<&Spanned<TomlNode>> {
        match self {
            TomlNode::Table(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for TomlNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = TomlNode;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<TomlNode, E> {
        Ok(TomlNode::Boolean(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<TomlNode, E> {
        Ok(TomlNode::Integer(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<TomlNode, E> {
        Ok(i64::try_from(v).map_or(TomlNode::Float(v as f64), TomlNode::Integer))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<TomlNode, E> {
        Ok(TomlNode::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<TomlNode, E> {
        Ok(TomlNode::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<TomlNode, E> {
        Ok(TomlNode::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TomlNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<TomlNode>>()? {
            items.push(item);
        }
        Ok(TomlNode::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TomlNode, A::Error> {
        let mut entries: Vec<(String, Spanned<TomlNode>)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if entries.is_empty() && key == DATETIME_FIELD {
                let text: String = map.next_value()?;
                return Ok(TomlNode::Datetime(text));
            }
            let value: Spanned<TomlNode> = map.next_value()?;
            entries.push((key, value));
        }
        // Back to the order written (stable: equal starts keep toml's order).
        entries.sort_by_key(|(_, v)| v.span().start);
        Ok(TomlNode::Table(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Doc {
        t: Spanned<TomlNode>,
    }

    #[test]
    fn keeps_written_order_and_spans() {
        let text = "t = { zeta = 1, alpha = \"x\", mid = { b = 2.5, a = true }, when = 1979-05-27T07:32:00Z, l = [1, 2] }";
        let doc: Doc = toml::from_str(text).unwrap();
        let TomlNode::Table(entries) = doc.t.get_ref() else {
            panic!("not a table")
        };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["zeta", "alpha", "mid", "when", "l"]);
        let zeta = &entries[0].1;
        assert_eq!(&text[zeta.span()], "1");
        let TomlNode::Table(mid) = entries[2].1.get_ref() else {
            panic!()
        };
        assert_eq!(mid[0].0, "b");
        assert!(
            matches!(entries[3].1.get_ref(), TomlNode::Datetime(s) if s == "1979-05-27T07:32:00Z")
        );
        assert!(matches!(entries[4].1.get_ref(), TomlNode::Array(a) if a.len() == 2));
    }

    #[test]
    fn standard_table_order() {
        let text = "[t]\nb = 1\na = 2\n[t.c]\nz = 1\n";
        let doc: Doc = toml::from_str(text).unwrap();
        let TomlNode::Table(entries) = doc.t.get_ref() else {
            panic!()
        };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "c"]);
    }
}
