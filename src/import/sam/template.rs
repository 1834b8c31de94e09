//! Reading a CloudFormation / SAM template, YAML or JSON, into one JSON tree.
//!
//! CloudFormation's YAML short forms are tags: `!Ref X` is `{"Ref": "X"}`, `!GetAtt A.B` is
//! `{"Fn::GetAtt": ["A", "B"]}`, `!Condition C` is `{"Condition": "C"}`, and every other `!Name v` is
//! `{"Fn::Name": v}` (AWS, "Intrinsic function reference"). Turning them into the long form here means the mapping
//! reads one shape whatever the template was written in.

use std::path::Path;

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Value};

use super::ImportError;

/// Reads `path` as JSON (when it starts with `{`) or YAML.
pub fn load(path: &Path) -> Result<Value, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text).map_err(|(line, column, message)| ImportError::Syntax {
        path: path.display().to_string(),
        line,
        column,
        message,
    })
}

/// Parses template text; an error carries its 1-based line and column.
pub fn parse(text: &str) -> Result<Value, (usize, usize, String)> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| (e.line(), e.column(), e.to_string()));
    }
    let docs = Yaml::load_from_str(text).map_err(|e| {
        let m = e.marker();
        (m.line(), m.col() + 1, e.info().to_string())
    })?;
    match docs.into_iter().next() {
        Some(doc) => convert(&doc).map_err(|m| (1, 1, m)),
        None => Err((1, 1, "the file holds no YAML document".into())),
    }
}

fn convert(node: &Yaml<'_>) -> Result<Value, String> {
    Ok(match node {
        Yaml::Value(s) => scalar(s),
        Yaml::Representation(text, _, _) => Value::String(text.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(convert).collect::<Result<_, _>>()?),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Yaml::Value(s) => scalar_key(s),
                    other => return Err(format!("a mapping key that is not a scalar: {other:?}")),
                };
                out.insert(key, convert(v)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(tag, inner) => intrinsic(&tag.handle, &tag.suffix, convert(inner)?),
        Yaml::Alias(_) => {
            return Err("YAML aliases are not allowed in CloudFormation templates".into());
        }
        Yaml::BadValue => Value::Null,
    })
}

fn scalar(s: &Scalar<'_>) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::from(*i),
        Scalar::FloatingPoint(f) => {
            serde_json::Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number)
        }
        Scalar::String(s) => Value::String(s.to_string()),
    }
}

fn scalar_key(s: &Scalar<'_>) -> String {
    match scalar(s) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// The long form of a short-form intrinsic function tag.
fn intrinsic(handle: &str, suffix: &str, value: Value) -> Value {
    if handle != "!" {
        // `!!str` and other core-schema tags: the value as parsed.
        return value;
    }
    let (key, value) = match suffix {
        "Ref" => ("Ref".to_string(), value),
        "Condition" => ("Condition".to_string(), value),
        // `!GetAtt Resource.Attribute` (a string) is `["Resource", "Attribute"]`.
        "GetAtt" => {
            let value = match value {
                Value::String(s) => match s.split_once('.') {
                    Some((a, b)) => Value::Array(vec![a.into(), b.into()]),
                    None => Value::String(s),
                },
                other => other,
            };
            ("Fn::GetAtt".to_string(), value)
        }
        other => (format!("Fn::{other}"), value),
    };
    let mut m = Map::new();
    m.insert(key, value);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse;

    #[test]
    fn short_forms_become_long_forms() {
        let v = parse(
            "A: !Ref Param\nB: !GetAtt Queue.Arn\nC: !Sub 'function:${Fn}:live'\nD: !If [IsProd, 10, !Ref AWS::NoValue]\nE: !Join ['', [a, !Ref X]]\nF: 128\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({
                "A": {"Ref": "Param"},
                "B": {"Fn::GetAtt": ["Queue", "Arn"]},
                "C": {"Fn::Sub": "function:${Fn}:live"},
                "D": {"Fn::If": ["IsProd", 10, {"Ref": "AWS::NoValue"}]},
                "E": {"Fn::Join": ["", ["a", {"Ref": "X"}]]},
                "F": 128
            })
        );
    }

    #[test]
    fn json_and_errors_with_positions() {
        assert_eq!(
            parse(r#"{"A": {"Ref": "B"}}"#).unwrap(),
            json!({"A": {"Ref": "B"}})
        );
        let (line, column, _) = parse("A:\n  - x\n B: [").unwrap_err();
        assert_eq!((line, column), (3, 2));
        let (line, _, _) = parse("{\n\"A\": }").unwrap_err();
        assert_eq!(line, 2);
    }
}
