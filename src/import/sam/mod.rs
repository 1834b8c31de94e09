//! `lambda-sim import sam`: an AWS SAM or CloudFormation template → a commented scenario.
//!
//! The template is read into one JSON tree ([`template`]), its intrinsic functions are evaluated as far as the
//! template alone allows ([`resolve`]), and each resource is mapped: functions ([`functions`]) and what feeds or
//! scales them — SQS queues and event source mappings, API and schedule events as traffic phases, asynchronous
//! invocation settings, Application Auto Scaling of provisioned concurrency ([`sources`]). Whatever cannot be
//! mapped is listed with its logical id, in the file and in [`SamImport::unmapped`]; a value only a deployment
//! knows becomes a marked placeholder.

mod functions;
mod resolve;
mod sources;
mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::ImportError;
use super::draft::{self, Draft, Section};
use resolve::{Resolved, Resolver};

pub use template::parse as parse_template;

/// What the importer needs besides the template.
#[derive(Debug, Clone)]
pub struct SamOptions {
    /// `--parameter NAME=VALUE`: values for the template's parameters.
    pub parameters: BTreeMap<String, String>,
    /// The `code` written for functions whose own code lambda-sim cannot run (the stand-in handler).
    pub stand_in: String,
}

/// Something of the template that the scenario does not carry, or carries as a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub logical_id: String,
    pub what: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.logical_id, self.what)
    }
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct SamImport {
    /// The scenario file's text.
    pub scenario: String,
    /// Names of the functions written.
    pub functions: Vec<String>,
    /// Resources and properties not mapped, by logical id.
    pub unmapped: Vec<Finding>,
    /// Values written as placeholders (known only at deploy time), by logical id.
    pub placeholders: Vec<Finding>,
}

/// Imports the template at `path`.
pub fn import(path: &Path, options: &SamOptions) -> Result<SamImport, ImportError> {
    let template = template::load(path)?;
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return Err(ImportError::Template {
            path: path.display().to_string(),
            message: "no Resources section: not a CloudFormation or SAM template".into(),
        });
    };
    let resolver = Resolver::new(&template, &options.parameters);
    if let Some(bad) = resolver.unknown_overrides(&options.parameters).first() {
        return Err(ImportError::Usage(format!(
            "--parameter {bad}: the template declares no parameter {bad}"
        )));
    }
    let mut m = Mapper {
        resolver,
        resources,
        globals: template.get("Globals").and_then(|g| g.get("Function")),
        base: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        options,
        functions: BTreeMap::new(),
        queues: BTreeMap::new(),
        event_sources: Vec::new(),
        traffic: Vec::new(),
        unmapped: Vec::new(),
        placeholders: Vec::new(),
    };
    m.map_all();
    if m.functions.is_empty() {
        return Err(ImportError::Template {
            path: path.display().to_string(),
            message: "no AWS::Serverless::Function or AWS::Lambda::Function resource to import"
                .into(),
        });
    }
    Ok(m.finish(path))
}

/// A function as it is being mapped.
pub(super) struct FunctionOut {
    pub name: String,
    pub section: Section,
    /// Runs lambda-sim's stand-in handler (its traffic carries `{"wait_ms": …}`).
    pub stand_in: bool,
}

/// The state of one import.
pub(super) struct Mapper<'t> {
    resolver: Resolver<'t>,
    resources: &'t serde_json::Map<String, Value>,
    globals: Option<&'t Value>,
    /// The template's directory: `CodeUri` is relative to it.
    base: PathBuf,
    options: &'t SamOptions,
    /// By logical id.
    functions: BTreeMap<String, FunctionOut>,
    /// By logical id.
    queues: BTreeMap<String, Section>,
    event_sources: Vec<Section>,
    traffic: Vec<Section>,
    unmapped: Vec<Finding>,
    placeholders: Vec<Finding>,
}

impl<'t> Mapper<'t> {
    fn map_all(&mut self) {
        let resources = self.resources;
        let included: Vec<(&String, &Value)> = resources
            .iter()
            .filter(|(id, r)| self.included(id, r))
            .collect();
        // Functions first, then queues: everything else refers to them.
        for &(id, r) in &included {
            if matches!(
                kind(r),
                "AWS::Serverless::Function" | "AWS::Lambda::Function"
            ) {
                self.function(id, r);
            }
        }
        for &(id, r) in &included {
            if kind(r) == "AWS::SQS::Queue" {
                self.queue(id, r);
            }
        }
        for &(id, r) in &included {
            match kind(r) {
                "AWS::Serverless::Function" => self.function_events(id, r),
                "AWS::Lambda::Function" | "AWS::SQS::Queue" => {}
                "AWS::Lambda::EventSourceMapping" => self.event_source_mapping(id, r),
                "AWS::Lambda::EventInvokeConfig" => self.event_invoke_config_resource(id, r),
                "AWS::Lambda::Alias" | "AWS::Lambda::Version" => self.alias_or_version(id, r),
                "AWS::ApplicationAutoScaling::ScalableTarget" => self.scalable_target(id, r),
                // Read with their scalable target.
                "AWS::ApplicationAutoScaling::ScalingPolicy" => {}
                "AWS::Lambda::Permission" | "AWS::IAM::Role" | "AWS::IAM::Policy" | "AWS::Logs::LogGroup" => {
                    self.unmapped(id, format!("{} (no effect on the simulation)", kind(r)))
                }
                "AWS::Serverless::Api" | "AWS::Serverless::HttpApi" | "AWS::ApiGateway::RestApi"
                | "AWS::ApiGatewayV2::Api" => self.unmapped(
                    id,
                    format!(
                        "{} (the API itself is not simulated; its functions' Api events are traffic phases)",
                        kind(r)
                    ),
                ),
                other => self.unmapped(id, format!("{other} (not simulated)")),
            }
        }
    }

    /// Whether a resource exists in this deployment: its `Condition`, when it has one, is true (an unknown one
    /// counts as true and is noted).
    fn included(&mut self, id: &str, r: &Value) -> bool {
        let Some(c) = r.get("Condition").and_then(Value::as_str) else {
            return true;
        };
        match self.resolver.condition(c) {
            Ok(true) => true,
            Ok(false) => {
                self.unmapped(id, format!("skipped: its Condition {c} is false"));
                false
            }
            Err(why) => {
                self.placeholder(
                    id,
                    format!("imported although its Condition {c} is unknown ({why})"),
                );
                true
            }
        }
    }

    pub(super) fn unmapped(&mut self, id: &str, what: impl Into<String>) {
        self.unmapped.push(Finding {
            logical_id: id.to_string(),
            what: what.into(),
        });
    }

    pub(super) fn placeholder(&mut self, id: &str, what: impl Into<String>) {
        self.placeholders.push(Finding {
            logical_id: id.to_string(),
            what: what.into(),
        });
    }

    /// A property's value, resolved; a placeholder is recorded against `id` and `field` and gives `None`.
    pub(super) fn value(&mut self, id: &str, field: &str, v: Option<&Value>) -> Option<Value> {
        match self.resolver.resolve(v?) {
            Resolved::Known(v) => Some(v),
            Resolved::Absent => None,
            Resolved::Placeholder(why) => {
                self.placeholder(id, format!("{field}: {why}"));
                None
            }
        }
    }

    /// A numeric property that must be written even when only a deployment knows it: Lambda's `default`, marked
    /// as a placeholder, stands in for an unknown value.
    pub(super) fn number_or_default(
        &mut self,
        id: &str,
        field: &str,
        v: Option<&Value>,
        default: f64,
    ) -> Option<(f64, Option<String>)> {
        let before = self.placeholders.len();
        match self.number(id, field, v) {
            Some(x) => Some((x, None)),
            None if self.placeholders.len() > before => {
                let why = self
                    .placeholders
                    .last()
                    .map_or(String::new(), |f| f.what.clone());
                Some((default, Some(format!("PLACEHOLDER: {why}"))))
            }
            None => None,
        }
    }

    /// A numeric property (CloudFormation accepts numbers written as strings).
    pub(super) fn number(&mut self, id: &str, field: &str, v: Option<&Value>) -> Option<f64> {
        let value = self.value(id, field, v)?;
        match value
            .as_f64()
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
        {
            Some(x) if x.is_finite() => Some(x),
            _ => {
                self.unmapped(
                    id,
                    format!("{field} = {} is not a number", resolve::short(&value)),
                );
                None
            }
        }
    }

    pub(super) fn string(&mut self, id: &str, field: &str, v: Option<&Value>) -> Option<String> {
        let value = self.value(id, field, v)?;
        resolve::text(&value)
    }

    pub(super) fn boolean(&mut self, id: &str, field: &str, v: Option<&Value>) -> Option<bool> {
        match self.value(id, field, v)? {
            Value::Bool(b) => Some(b),
            Value::String(s)
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
            {
                Some(s.eq_ignore_ascii_case("true"))
            }
            other => {
                self.unmapped(
                    id,
                    format!("{field} = {} is not a boolean", resolve::short(&other)),
                );
                None
            }
        }
    }

    /// The function a property points at (`!Ref F`, `!GetAtt F.Arn`, `!Sub …${F}…`, or a name/ARN given as
    /// text), by logical id.
    pub(super) fn function_ref(&mut self, v: Option<&Value>) -> Option<String> {
        let v = v?;
        if let Some(id) = resolve::referenced_id(v) {
            return self.functions.contains_key(&id).then_some(id);
        }
        let text = resolve::text(&self.resolver.resolve(v).known()?)?;
        // A name, a partial ARN (`function:name[:qualifier]`) or a full ARN.
        let name = match text.split(':').collect::<Vec<_>>().as_slice() {
            [.., "function", name] | [.., "function", name, _] => name.to_string(),
            [name, _qualifier] if !text.starts_with("arn") => name.to_string(),
            _ => text.clone(),
        };
        self.functions
            .iter()
            .find(|(id, f)| f.name == name || **id == name)
            .map(|(id, _)| id.clone())
    }

    fn finish(mut self, path: &Path) -> SamImport {
        let mut d = Draft {
            sections: Vec::new(),
            preamble: vec![
            format!("Imported by `lambda-sim import sam {}`.", path.display()),
            "Review the lines marked FILL IN (traffic rates that no template states) and PLACEHOLDER (values only a"
                .into(),
            "deployment knows), then `lambda-sim validate` and `lambda-sim run` this file.".into(),
        ],
        };
        let mut sim = Section::new("[simulation]");
        sim.set(
            "duration",
            draft::string("1h"),
            Some("FILL IN: how long to replay".into()),
        );
        sim.set("seed", "1".into(), None);
        d.sections.push(sim);
        let mut account = Section::new("[account]");
        account.set(
            "concurrency_limit",
            "1000".into(),
            Some("Lambda's default Regional limit; set your account's".into()),
        );
        d.sections.push(account);
        let names: Vec<String> = self.functions.values().map(|f| f.name.clone()).collect();
        for f in std::mem::take(&mut self.functions).into_values() {
            d.sections.push(f.section);
        }
        d.sections
            .extend(std::mem::take(&mut self.queues).into_values());
        d.sections.append(&mut self.event_sources);
        d.sections.append(&mut self.traffic);
        let mut tail = Vec::new();
        if !self.placeholders.is_empty() {
            tail.push(String::new());
            tail.push("PLACEHOLDER — values known only at deploy time (a Lambda default or a guess was written):".into());
            tail.extend(self.placeholders.iter().map(|f| format!("  {f}")));
        }
        if !self.unmapped.is_empty() {
            tail.push(String::new());
            tail.push("Not mapped (by logical id):".into());
            tail.extend(self.unmapped.iter().map(|f| format!("  {f}")));
        }
        d.preamble.extend(tail);
        SamImport {
            scenario: d.render(),
            functions: names,
            unmapped: self.unmapped,
            placeholders: self.placeholders,
        }
    }
}

/// A resource's `Type`.
fn kind(r: &Value) -> &str {
    r.get("Type").and_then(Value::as_str).unwrap_or("")
}

/// A resource's `Properties` (an empty object when it has none).
fn properties(r: &Value) -> &serde_json::Map<String, Value> {
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> = std::sync::OnceLock::new();
    r.get("Properties")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(serde_json::Map::new))
}
