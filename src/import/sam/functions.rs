//! Mapping `AWS::Serverless::Function` (with SAM's `Globals`) and `AWS::Lambda::Function` to `[[function]]`.

use serde_json::{Map, Value};

use super::draft::{self, Section};
use super::{FunctionOut, Mapper, kind, properties};

/// Properties read here or by the event and scaling mappers.
const MAPPED: &[&str] = &[
    "FunctionName",
    "MemorySize",
    "Timeout",
    "Architectures",
    "ReservedConcurrentExecutions",
    "ProvisionedConcurrencyConfig",
    "AutoPublishAlias",
    "SnapStart",
    "Runtime",
    "Handler",
    "CodeUri",
    "InlineCode",
    "Code",
    "PackageType",
    "ImageUri",
    "Events",
    "EventInvokeConfig",
    "DeadLetterQueue",
    "DeadLetterConfig",
    "Description",
];

/// Why some common properties are not mapped.
fn reason(property: &str) -> &'static str {
    match property {
        "Layers" => "layers are not loaded: a handler's code must be self-contained",
        "Environment" => {
            "environment variables are not imported yet: copy them into the function's `environment`"
        }
        "VpcConfig" => {
            "VPC attachment no longer adds to cold starts (shared Hyperplane ENIs since 2019)"
        }
        "Role" | "Policies" | "PermissionsBoundary" | "KmsKeyArn" | "CodeSigningConfigArn" => {
            "permissions and keys are not simulated"
        }
        "Tracing" | "LoggingConfig" | "Tags" => "observability settings are not simulated",
        "EphemeralStorage" | "FileSystemConfigs" => "storage is not simulated",
        "DeploymentPreference"
        | "AutoPublishCodeSha256"
        | "AutoPublishAliasAllProperties"
        | "VersionDescription" => "deployments are not simulated; the function runs as configured",
        _ => "not simulated",
    }
}

/// SAM's `Globals.Function` applied to a function's properties: a property the function sets wins, maps are
/// merged, lists are the global entries followed by the function's (SAM's documented rules).
fn with_globals(globals: Option<&Value>, local: &Map<String, Value>) -> Map<String, Value> {
    let Some(Value::Object(globals)) = globals else {
        return local.clone();
    };
    let mut out = globals.clone();
    for (k, v) in local {
        let merged = match (out.get(k), v) {
            (Some(Value::Object(g)), Value::Object(l)) if !is_intrinsic(l) => {
                Value::Object(with_globals(Some(&Value::Object(g.clone())), l))
            }
            (Some(Value::Array(g)), Value::Array(l)) => {
                Value::Array(g.iter().chain(l).cloned().collect())
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    out
}

fn is_intrinsic(m: &Map<String, Value>) -> bool {
    m.len() == 1 && m.keys().any(|k| k == "Ref" || k.starts_with("Fn::"))
}

impl Mapper<'_> {
    /// The function's properties as deployed (SAM: with `Globals.Function`).
    pub(super) fn function_properties(&self, r: &Value) -> Map<String, Value> {
        if kind(r) == "AWS::Serverless::Function" {
            with_globals(self.globals, properties(r))
        } else {
            properties(r).clone()
        }
    }

    pub(super) fn function(&mut self, id: &str, r: &Value) {
        let p = self.function_properties(r);
        let mut s = Section::new("[[function]]");
        s.note(format!("{id} ({})", kind(r)));
        let name = match self.string(id, "FunctionName", p.get("FunctionName")) {
            Some(n) if draft::is_name(&n, 64) => n,
            Some(n) => {
                self.unmapped(
                    id,
                    format!("FunctionName {n:?} is not a lambda-sim name; the logical id is used"),
                );
                id.to_string()
            }
            None => id.to_string(),
        };
        s.set("name", draft::string(&name), None);

        if let Some((mb, marked)) =
            self.number_or_default(id, "MemorySize", p.get("MemorySize"), 128.0)
        {
            let clamped = mb.round().clamp(128.0, 10_240.0);
            if clamped != mb {
                self.unmapped(
                    id,
                    format!("MemorySize {mb} is outside Lambda's 128–10,240 MB; {clamped} written"),
                );
            }
            s.set(
                "memory_mb",
                draft::number(clamped),
                marked.or(Some("MemorySize".into())),
            );
        }
        if let Some((t, marked)) = self.number_or_default(id, "Timeout", p.get("Timeout"), 3.0) {
            let clamped = t.round().clamp(1.0, 900.0);
            if clamped != t {
                self.unmapped(
                    id,
                    format!("Timeout {t} is outside Lambda's 1–900 s; {clamped} written"),
                );
            }
            s.set(
                "timeout",
                draft::number(clamped),
                marked.or(Some("Timeout, seconds".into())),
            );
        }
        if let Some(Value::Array(archs)) = self.value(id, "Architectures", p.get("Architectures"))
            && archs.iter().any(|a| a.as_str() == Some("arm64"))
        {
            s.set(
                "architecture",
                draft::string("arm64"),
                Some("Architectures".into()),
            );
        }
        if let Some(n) = self.number(
            id,
            "ReservedConcurrentExecutions",
            p.get("ReservedConcurrentExecutions"),
        ) {
            s.set(
                "reserved_concurrency",
                draft::number(n.max(0.0).round()),
                Some("ReservedConcurrentExecutions".into()),
            );
        }
        let alias = self.string(id, "AutoPublishAlias", p.get("AutoPublishAlias"));
        let pc = p.get("ProvisionedConcurrencyConfig").map(|c| {
            c.get("ProvisionedConcurrentExecutions")
                .cloned()
                .unwrap_or(c.clone())
        });
        let pc = self.number(id, "ProvisionedConcurrencyConfig", pc.as_ref());
        if let Some(n) = pc {
            let on = alias
                .as_deref()
                .map_or(String::new(), |a| format!(" on alias {a}"));
            s.set(
                "provisioned_concurrency",
                draft::number(n.max(0.0).round()),
                Some(format!(
                    "ProvisionedConcurrencyConfig{on}: every invocation is taken to go through it"
                )),
            );
        }
        let snap_start = p
            .get("SnapStart")
            .and_then(|v| v.get("ApplyOn"))
            .and_then(|v| self.resolver.resolve(v).known())
            .and_then(|v| v.as_str().map(str::to_string));
        if snap_start.as_deref() == Some("PublishedVersions") {
            if pc.is_some_and(|n| n > 0.0) {
                self.unmapped(id, "SnapStart with provisioned concurrency: Lambda refuses the pair; SnapStart left out");
            } else {
                s.set(
                    "snapshot",
                    "true".into(),
                    Some("SnapStart: ApplyOn PublishedVersions (applies to invocations of a version or alias)".into()),
                );
            }
        }
        let stand_in = self.code(id, &p, &mut s);
        if p.contains_key("EventInvokeConfig")
            || p.contains_key("DeadLetterQueue")
            || p.contains_key("DeadLetterConfig")
        {
            let dlq = p
                .get("DeadLetterQueue")
                .or(p.get("DeadLetterConfig"))
                .cloned();
            self.event_invoke_config(id, &mut s, p.get("EventInvokeConfig"), dlq.as_ref());
        }
        for key in p.keys().filter(|k| !MAPPED.contains(&k.as_str())) {
            let why = reason(key);
            self.unmapped(id, format!("Properties.{key} ({why})"));
        }
        self.functions.insert(
            id.to_string(),
            FunctionOut {
                name,
                section: s,
                stand_in,
            },
        );
    }

    /// Writes `code` (and `handler`, `runtime`); returns whether the function runs the stand-in handler.
    fn code(&mut self, id: &str, p: &Map<String, Value>, s: &mut Section) -> bool {
        let runtime = self
            .string(id, "Runtime", p.get("Runtime"))
            .unwrap_or_default();
        let handler = self.string(id, "Handler", p.get("Handler"));
        let image = self
            .string(id, "PackageType", p.get("PackageType"))
            .as_deref()
            == Some("Image");
        let interpreted = runtime.starts_with("python") || runtime.starts_with("nodejs");
        let code_uri = match p.get("CodeUri").or_else(|| p.get("Code")) {
            Some(Value::Object(o)) if o.contains_key("ZipFile") => {
                Err("inline code (Code.ZipFile)")
            }
            Some(Value::Object(o)) if o.contains_key("S3Bucket") || o.contains_key("Bucket") => {
                Err("code in S3")
            }
            Some(v) => match self.string(id, "CodeUri", Some(v)) {
                Some(u) if u.starts_with("s3://") => Err("code in S3"),
                Some(u) => Ok(u),
                None => Err("a CodeUri known only at deploy time"),
            },
            None if p.contains_key("InlineCode") => Err("inline code (InlineCode)"),
            None => Err("no CodeUri"),
        };
        if interpreted && !image {
            match code_uri {
                Ok(uri) => {
                    let path = self.base.join(&uri);
                    if path.exists() {
                        let (lang, packages) = if runtime.starts_with("python") {
                            (
                                "Python",
                                "a requirements.txt there is installed: pure-Python packages only",
                            )
                        } else {
                            ("JavaScript", "its node_modules are bundled")
                        };
                        s.set(
                            "code",
                            draft::string(&path.display().to_string()),
                            Some(format!(
                                "CodeUri, run as a {lang} handler (relative to where import ran; {packages})"
                            )),
                        );
                        if let Some(h) = handler {
                            s.set("handler", draft::string(&h), Some("Handler".into()));
                        }
                        s.note(format!(
                            "Runtime {runtime}: the interpreter starts inside the sandbox and is measured there, \
                             so no runtime preset applies"
                        ));
                        return false;
                    }
                    self.unmapped(
                        id,
                        format!(
                            "CodeUri {uri}: {} does not exist; stand-in written",
                            path.display()
                        ),
                    );
                }
                Err(why) => self.unmapped(
                    id,
                    format!("{why}: lambda-sim needs the source as a file; stand-in written"),
                ),
            }
        }
        let what = if image {
            "a container image".to_string()
        } else if runtime.is_empty() {
            "code of an unstated runtime".to_string()
        } else {
            format!("{runtime} code")
        };
        if !interpreted || image {
            self.unmapped(
                id,
                format!("{what} cannot run in lambda-sim: the stand-in handler was written"),
            );
        }
        s.set(
            "code",
            draft::string(&self.options.stand_in),
            Some(format!(
                "stand-in for {what}: it waits as long as each request's \"wait_ms\" says; \
                 replace it with a handler built for lambda-sim to run your own code"
            )),
        );
        if let Some((preset, exact)) = runtime_preset(&runtime) {
            let note = if exact {
                format!("Runtime {runtime}: its measured start-up")
            } else {
                format!("Runtime {runtime}: the nearest measured preset")
            };
            s.set("runtime", draft::string(preset), Some(note));
        } else if !runtime.is_empty() {
            self.unmapped(
                id,
                format!(
                    "Runtime {runtime}: no measured preset; provided.al2023's start-up applies"
                ),
            );
        }
        true
    }
}

/// The runtime preset for a Lambda runtime identifier, and whether it is that very runtime.
fn runtime_preset(runtime: &str) -> Option<(&'static str, bool)> {
    let family = [
        ("python", "python3.12"),
        ("nodejs", "nodejs22.x"),
        ("java", "java21"),
        ("dotnet", "dotnet8"),
        ("ruby", "ruby3.3"),
        ("provided", "provided.al2023"),
        ("go1", "provided.al2023"),
    ];
    family
        .iter()
        .find(|(prefix, _)| runtime.starts_with(prefix))
        .map(|(_, preset)| (*preset, *preset == runtime))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn globals_merge_as_sam_merges_them() {
        let g = json!({"Timeout": 10, "MemorySize": 256, "Environment": {"Variables": {"A": "1"}}, "Layers": ["l1"]});
        let l =
            json!({"MemorySize": 512, "Environment": {"Variables": {"B": "2"}}, "Layers": ["l2"]});
        let m = with_globals(Some(&g), l.as_object().unwrap());
        assert_eq!(
            Value::Object(m),
            json!({"Timeout": 10, "MemorySize": 512, "Environment": {"Variables": {"A": "1", "B": "2"}}, "Layers": ["l1", "l2"]})
        );
    }

    #[test]
    fn presets() {
        assert_eq!(runtime_preset("java17"), Some(("java21", false)));
        assert_eq!(runtime_preset("ruby3.3"), Some(("ruby3.3", true)));
        assert_eq!(
            runtime_preset("provided.al2"),
            Some(("provided.al2023", false))
        );
        assert_eq!(runtime_preset("cobol"), None);
    }
}
