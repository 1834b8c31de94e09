//! Evaluating CloudFormation intrinsic functions as far as a template alone allows.
//!
//! Parameters take their `Default` (or a `--parameter` override); conditions are evaluated from them; `Ref`,
//! `Fn::Sub`, `Fn::If`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap` and the condition functions are
//! computed. What only a deployment knows — a parameter without a default, `Fn::ImportValue`, a resource's
//! runtime attribute — is a [`Resolved::Placeholder`] that says why, so the importer can mark it instead of
//! guessing silently.

use std::collections::BTreeMap;

use serde_json::Value;

/// A value as far as it can be known before deployment.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Known(Value),
    /// `Ref: AWS::NoValue`: the property is removed.
    Absent,
    /// Known only at deploy time; the text says why.
    Placeholder(String),
}

impl Resolved {
    pub fn known(self) -> Option<Value> {
        match self {
            Resolved::Known(v) => Some(v),
            _ => None,
        }
    }
}

/// The template's parameters, conditions, mappings and resource ids.
pub struct Resolver<'t> {
    parameters: BTreeMap<String, Option<Value>>,
    conditions: Option<&'t serde_json::Map<String, Value>>,
    mappings: Option<&'t serde_json::Map<String, Value>>,
    resources: Option<&'t serde_json::Map<String, Value>>,
}

impl<'t> Resolver<'t> {
    /// `overrides` are `--parameter NAME=VALUE`s, which win over the template's defaults.
    pub fn new(template: &'t Value, overrides: &BTreeMap<String, String>) -> Self {
        let mut parameters = BTreeMap::new();
        if let Some(p) = template.get("Parameters").and_then(Value::as_object) {
            for (name, spec) in p {
                let value = overrides
                    .get(name)
                    .map(|v| Value::String(v.clone()))
                    .or_else(|| spec.get("Default").cloned());
                parameters.insert(name.clone(), value);
            }
        }
        Resolver {
            parameters,
            conditions: template.get("Conditions").and_then(Value::as_object),
            mappings: template.get("Mappings").and_then(Value::as_object),
            resources: template.get("Resources").and_then(Value::as_object),
        }
    }

    /// Names of parameters given on the command line that the template does not declare.
    pub fn unknown_overrides<'a>(&self, overrides: &'a BTreeMap<String, String>) -> Vec<&'a str> {
        overrides
            .keys()
            .filter(|k| !self.parameters.contains_key(*k))
            .map(String::as_str)
            .collect()
    }

    /// Evaluates `value` (its intrinsic functions, recursively).
    pub fn resolve(&self, value: &Value) -> Resolved {
        self.eval(value, 0)
    }

    /// Evaluates a condition by name.
    pub fn condition(&self, name: &str) -> Result<bool, String> {
        let Some(c) = self.conditions.and_then(|c| c.get(name)) else {
            return Err(format!("condition {name} is not declared"));
        };
        self.truth(c, 0)
    }

    fn eval(&self, value: &Value, depth: usize) -> Resolved {
        if depth > 64 {
            return Resolved::Placeholder("intrinsic functions nested too deeply".into());
        }
        let Value::Object(map) = value else {
            return match value {
                Value::Array(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        match self.eval(item, depth + 1) {
                            Resolved::Known(v) => out.push(v),
                            Resolved::Absent => {}
                            p @ Resolved::Placeholder(_) => return p,
                        }
                    }
                    Resolved::Known(Value::Array(out))
                }
                other => Resolved::Known(other.clone()),
            };
        };
        if map.len() != 1 {
            return Resolved::Known(value.clone());
        }
        let Some((key, arg)) = map.iter().next() else {
            return Resolved::Known(value.clone());
        };
        match key.as_str() {
            "Ref" => self.reference(arg),
            "Fn::Sub" => self.sub(arg, depth),
            "Fn::If" => match arg.as_array().map(Vec::as_slice) {
                Some([cond, yes, no]) => match cond.as_str().map(|c| self.condition(c)) {
                    Some(Ok(true)) => self.eval(yes, depth + 1),
                    Some(Ok(false)) => self.eval(no, depth + 1),
                    Some(Err(why)) => Resolved::Placeholder(why),
                    None => Resolved::Placeholder("Fn::If needs a condition name".into()),
                },
                _ => Resolved::Placeholder(
                    "Fn::If needs [condition, value if true, value if false]".into(),
                ),
            },
            "Fn::Join" => match arg.as_array().map(Vec::as_slice) {
                Some([sep, list]) => {
                    match (self.eval(sep, depth + 1), self.eval(list, depth + 1)) {
                        (
                            Resolved::Known(Value::String(sep)),
                            Resolved::Known(Value::Array(items)),
                        ) => {
                            let parts: Option<Vec<String>> = items.iter().map(text).collect();
                            parts.map_or_else(
                                || {
                                    Resolved::Placeholder(
                                        "Fn::Join of values that are not strings".into(),
                                    )
                                },
                                |p| Resolved::Known(Value::String(p.join(&sep))),
                            )
                        }
                        (p @ Resolved::Placeholder(_), _) | (_, p @ Resolved::Placeholder(_)) => p,
                        _ => Resolved::Placeholder("Fn::Join needs [delimiter, [values]]".into()),
                    }
                }
                _ => Resolved::Placeholder("Fn::Join needs [delimiter, [values]]".into()),
            },
            "Fn::Select" => match arg.as_array().map(Vec::as_slice) {
                Some([index, list]) => {
                    match (self.eval(index, depth + 1), self.eval(list, depth + 1)) {
                        (Resolved::Known(i), Resolved::Known(Value::Array(items))) => {
                            let i = i
                                .as_u64()
                                .or_else(|| i.as_str().and_then(|s| s.parse().ok()));
                            match i.and_then(|i| items.get(i as usize)) {
                                Some(v) => Resolved::Known(v.clone()),
                                None => {
                                    Resolved::Placeholder("Fn::Select index out of range".into())
                                }
                            }
                        }
                        (p @ Resolved::Placeholder(_), _) | (_, p @ Resolved::Placeholder(_)) => p,
                        _ => Resolved::Placeholder("Fn::Select needs [index, [values]]".into()),
                    }
                }
                _ => Resolved::Placeholder("Fn::Select needs [index, [values]]".into()),
            },
            "Fn::Split" => match arg.as_array().map(Vec::as_slice) {
                Some([sep, s]) => match (sep.as_str(), self.eval(s, depth + 1)) {
                    (Some(sep), Resolved::Known(Value::String(s))) => Resolved::Known(
                        Value::Array(s.split(sep).map(|x| Value::String(x.into())).collect()),
                    ),
                    (_, p @ Resolved::Placeholder(_)) => p,
                    _ => Resolved::Placeholder("Fn::Split needs [delimiter, string]".into()),
                },
                _ => Resolved::Placeholder("Fn::Split needs [delimiter, string]".into()),
            },
            "Fn::FindInMap" => self.find_in_map(arg, depth),
            "Fn::ImportValue" => Resolved::Placeholder(format!(
                "Fn::ImportValue {}: another stack's export",
                short(arg)
            )),
            "Fn::GetAtt" => Resolved::Placeholder(format!(
                "Fn::GetAtt {}: known once the resource exists",
                short(arg)
            )),
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" | "Condition" => {
                match self.truth(value, depth) {
                    Ok(b) => Resolved::Known(Value::Bool(b)),
                    Err(why) => Resolved::Placeholder(why),
                }
            }
            other if other.starts_with("Fn::") => {
                Resolved::Placeholder(format!("{other} is evaluated at deploy time"))
            }
            _ => Resolved::Known(value.clone()),
        }
    }

    fn reference(&self, arg: &Value) -> Resolved {
        let Some(name) = arg.as_str() else {
            return Resolved::Placeholder("Ref needs a name".into());
        };
        match name {
            "AWS::NoValue" => Resolved::Absent,
            "AWS::Region" => Resolved::Known(crate::event_shapes::REGION.into()),
            "AWS::AccountId" => Resolved::Known(crate::event_shapes::ACCOUNT_ID.into()),
            "AWS::Partition" => Resolved::Known("aws".into()),
            "AWS::URLSuffix" => Resolved::Known("amazonaws.com".into()),
            _ if name.starts_with("AWS::") => {
                Resolved::Placeholder(format!("pseudo parameter {name} is known at deploy time"))
            }
            _ => match self.parameters.get(name) {
                Some(Some(v)) => Resolved::Known(v.clone()),
                Some(None) => Resolved::Placeholder(format!(
                    "parameter {name} has no Default (give one with --parameter {name}=VALUE)"
                )),
                // A resource's Ref is its physical id; its logical id stands in for it.
                None if self.resources.is_some_and(|r| r.contains_key(name)) => {
                    Resolved::Known(name.into())
                }
                None => {
                    Resolved::Placeholder(format!("Ref {name}: neither a parameter nor a resource"))
                }
            },
        }
    }

    fn sub(&self, arg: &Value, depth: usize) -> Resolved {
        let (template, vars) = match arg {
            Value::String(s) => (s.as_str(), None),
            Value::Array(a) if a.len() == 2 => match (a[0].as_str(), a[1].as_object()) {
                (Some(s), Some(v)) => (s, Some(v)),
                _ => {
                    return Resolved::Placeholder(
                        "Fn::Sub needs a string or [string, {variables}]".into(),
                    );
                }
            },
            _ => {
                return Resolved::Placeholder(
                    "Fn::Sub needs a string or [string, {variables}]".into(),
                );
            }
        };
        let mut out = String::new();
        let mut rest = template;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let Some(end) = rest[at..].find('}') else {
                out.push_str(&rest[at..]);
                rest = "";
                break;
            };
            let name = &rest[at + 2..at + end];
            rest = &rest[at + end + 1..];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let value = match vars.and_then(|v| v.get(name)) {
                Some(v) => self.eval(v, depth + 1),
                None if name.contains('.') => Resolved::Placeholder(format!(
                    "${{{name}}}: a resource attribute known once it exists"
                )),
                None => self.reference(&Value::String(name.into())),
            };
            match value {
                Resolved::Known(v) => match text(&v) {
                    Some(t) => out.push_str(&t),
                    None => return Resolved::Placeholder(format!("${{{name}}} is not a string")),
                },
                Resolved::Absent => {}
                p @ Resolved::Placeholder(_) => return p,
            }
        }
        out.push_str(rest);
        Resolved::Known(Value::String(out))
    }

    fn find_in_map(&self, arg: &Value, depth: usize) -> Resolved {
        let Some([map, k1, k2]) = arg.as_array().map(Vec::as_slice) else {
            return Resolved::Placeholder("Fn::FindInMap needs [map, key, key]".into());
        };
        let keys: Vec<Resolved> = [map, k1, k2]
            .iter()
            .map(|k| self.eval(k, depth + 1))
            .collect();
        let mut names = Vec::new();
        for k in keys {
            match k {
                Resolved::Known(v) => match text(&v) {
                    Some(t) => names.push(t),
                    None => {
                        return Resolved::Placeholder("Fn::FindInMap keys must be strings".into());
                    }
                },
                Resolved::Absent => {
                    return Resolved::Placeholder("Fn::FindInMap key is AWS::NoValue".into());
                }
                p @ Resolved::Placeholder(_) => return p,
            }
        }
        match self
            .mappings
            .and_then(|m| m.get(&names[0]))
            .and_then(|m| m.get(&names[1]))
            .and_then(|m| m.get(&names[2]))
        {
            Some(v) => self.eval(v, depth + 1),
            None => Resolved::Placeholder(format!(
                "Fn::FindInMap {}.{}.{} is not in Mappings",
                names[0], names[1], names[2]
            )),
        }
    }

    fn truth(&self, value: &Value, depth: usize) -> Result<bool, String> {
        if depth > 64 {
            return Err("conditions nested too deeply".into());
        }
        let Some((key, arg)) = value
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.iter().next())
        else {
            return match value {
                Value::Bool(b) => Ok(*b),
                Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
                _ => Err(format!("{} is not a condition", short(value))),
            };
        };
        let list = || arg.as_array().map(Vec::as_slice).unwrap_or(&[]);
        match key.as_str() {
            "Condition" => arg
                .as_str()
                .ok_or_else(|| "Condition needs a name".to_string())
                .and_then(|c| self.condition(c)),
            "Fn::Equals" => match list() {
                [a, b] => match (self.eval(a, depth + 1), self.eval(b, depth + 1)) {
                    (Resolved::Known(a), Resolved::Known(b)) => Ok(text(&a) == text(&b)),
                    (Resolved::Placeholder(w), _) | (_, Resolved::Placeholder(w)) => Err(w),
                    _ => Ok(false),
                },
                _ => Err("Fn::Equals needs two values".into()),
            },
            "Fn::Not" => match list() {
                [c] => self.truth(c, depth + 1).map(|b| !b),
                _ => Err("Fn::Not needs one condition".into()),
            },
            "Fn::And" => list()
                .iter()
                .try_fold(true, |acc, c| Ok(acc & self.truth(c, depth + 1)?)),
            "Fn::Or" => list()
                .iter()
                .try_fold(false, |acc, c| Ok(acc | self.truth(c, depth + 1)?)),
            _ => match self.eval(value, depth + 1) {
                Resolved::Known(v) => self.truth(&v, depth + 1),
                Resolved::Placeholder(w) => Err(w),
                Resolved::Absent => Err("AWS::NoValue is not a condition".into()),
            },
        }
    }
}

/// A scalar as text (CloudFormation compares and joins values as strings).
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A short rendering of a value for messages.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}…", &s[..s.floor_char_boundary(80)])
    } else {
        s
    }
}

/// The logical id a value points at: `!Ref X`, `!GetAtt X.Arn`, or `${X}` / `${X.Arn}` inside `!Sub`.
pub fn referenced_id(v: &Value) -> Option<String> {
    let map = v.as_object()?;
    if let Some(r) = map.get("Ref").and_then(Value::as_str) {
        return Some(r.to_string());
    }
    if let Some(a) = map.get("Fn::GetAtt") {
        return match a {
            Value::Array(items) => items.first().and_then(Value::as_str).map(str::to_string),
            Value::String(s) => s.split('.').next().map(str::to_string),
            _ => None,
        };
    }
    let sub = match map.get("Fn::Sub")? {
        Value::String(s) => s.as_str(),
        Value::Array(a) => a.first()?.as_str()?,
        _ => return None,
    };
    let start = sub.find("${")? + 2;
    let end = start + sub[start..].find('}')?;
    let name = &sub[start..end];
    (!name.starts_with("AWS::") && !name.starts_with('!'))
        .then(|| name.split('.').next().unwrap_or(name).to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resolver(t: &Value) -> Resolver<'_> {
        Resolver::new(t, &BTreeMap::new())
    }

    #[test]
    fn parameters_conditions_and_functions() {
        let t = json!({
            "Parameters": {"Stage": {"Type": "String", "Default": "prod"}, "Mem": {"Type": "Number"}},
            "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
            "Mappings": {"Sizes": {"prod": {"Memory": 1024}}},
            "Resources": {"Fn": {"Type": "AWS::Serverless::Function"}}
        });
        let r = resolver(&t);
        assert_eq!(
            r.resolve(&json!({"Ref": "Stage"})),
            Resolved::Known(json!("prod"))
        );
        assert!(
            matches!(r.resolve(&json!({"Ref": "Mem"})), Resolved::Placeholder(w) if w.contains("no Default"))
        );
        assert_eq!(
            r.resolve(&json!({"Fn::If": ["IsProd", 10, 1]})),
            Resolved::Known(json!(10))
        );
        assert_eq!(
            r.resolve(&json!({"Fn::Sub": "function:${Fn}:${Stage}-${!Literal}"})),
            Resolved::Known(json!("function:Fn:prod-${Literal}"))
        );
        assert_eq!(
            r.resolve(&json!({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]})),
            Resolved::Known(json!(1024))
        );
        assert_eq!(r.resolve(&json!({"Ref": "AWS::NoValue"})), Resolved::Absent);
        assert!(matches!(
            r.resolve(&json!({"Fn::ImportValue": "x"})),
            Resolved::Placeholder(_)
        ));
        let o = BTreeMap::from([("Mem".to_string(), "512".to_string())]);
        let r = Resolver::new(&t, &o);
        assert_eq!(
            r.resolve(&json!({"Ref": "Mem"})),
            Resolved::Known(json!("512"))
        );
    }

    #[test]
    fn references() {
        assert_eq!(
            referenced_id(&json!({"Fn::GetAtt": ["Q", "Arn"]})),
            Some("Q".into())
        );
        assert_eq!(referenced_id(&json!({"Ref": "F"})), Some("F".into()));
        assert_eq!(
            referenced_id(&json!({"Fn::Sub": "function:${F}:live"})),
            Some("F".into())
        );
        assert_eq!(referenced_id(&json!("arn:aws:sqs:us-east-1:1:q")), None);
    }
}
