//! What feeds and scales a function: SQS queues and event source mappings, SAM `Events` (SQS, Api/HttpApi,
//! Schedule, and other asynchronous sources) as traffic phases, `EventInvokeConfig` and dead-letter settings, and
//! Application Auto Scaling of provisioned concurrency.

use serde_json::{Map, Value, json};

use super::draft::{self, Section};
use super::resolve::{self, referenced_id};
use super::{Mapper, kind, properties};

/// A label lambda-sim accepts for a queue or destination (1–`max` of `A-Za-z0-9-_`), from a name or ARN.
fn label(text: &str, max: usize) -> String {
    let last = text.rsplit([':', '/']).next().unwrap_or(text);
    draft::name(last, max, "destination")
}

/// Seconds between firings of an EventBridge schedule expression, when it fires at a fixed period:
/// `rate(5 minutes)`, or a cron whose minutes are `M` or `M/N` and whose other fields are all wildcards except
/// a fixed hour (daily).
pub(super) fn schedule_period_s(expr: &str) -> Option<f64> {
    let expr = expr.trim();
    if let Some(body) = expr.strip_prefix("rate(").and_then(|b| b.strip_suffix(')')) {
        let (n, unit) = body.trim().split_once(' ')?;
        let n: f64 = n.parse().ok().filter(|n: &f64| *n > 0.0)?;
        let unit = match unit.trim().trim_end_matches('s') {
            "minute" => 60.0,
            "hour" => 3600.0,
            "day" => 86_400.0,
            _ => return None,
        };
        return Some(n * unit);
    }
    let body = expr.strip_prefix("cron(")?.strip_suffix(')')?;
    let f: Vec<&str> = body.split_whitespace().collect();
    let [minutes, hours, dom, month, dow, year] = f.as_slice() else {
        return None;
    };
    let wild = |s: &str| s == "*" || s == "?";
    if !(wild(dom) && wild(month) && wild(dow) && wild(year)) {
        return None;
    }
    let every_minutes = match minutes.split_once('/') {
        Some((start, step)) if start == "*" || start.parse::<u32>().is_ok() => {
            step.parse::<f64>().ok()?
        }
        None if minutes.parse::<u32>().is_ok() => 60.0,
        _ => return None,
    };
    match *hours {
        "*" => Some(every_minutes * 60.0),
        h if h.parse::<u32>().is_ok() && every_minutes == 60.0 => Some(86_400.0),
        _ => None,
    }
}

/// Seconds from midnight UTC of a cron expression that fires once a day (`cron(M H * * ? *)`).
fn daily_at_s(expr: &str) -> Option<u64> {
    let body = expr.trim().strip_prefix("cron(")?.strip_suffix(')')?;
    let f: Vec<&str> = body.split_whitespace().collect();
    let [m, h, ..] = f.as_slice() else {
        return None;
    };
    let (m, h): (u64, u64) = (m.parse().ok()?, h.parse().ok()?);
    (schedule_period_s(expr) == Some(86_400.0)).then_some(h * 3600 + m * 60)
}

impl Mapper<'_> {
    /// An `AWS::SQS::Queue` → `[[queue]]`.
    pub(super) fn queue(&mut self, id: &str, r: &Value) {
        let p = properties(r);
        let mut s = Section::new("[[queue]]");
        s.note(format!("{id} (AWS::SQS::Queue)"));
        let name = match self.string(id, "QueueName", p.get("QueueName")) {
            Some(n) if draft::is_name(&n, 80) => n,
            _ => id.to_string(),
        };
        s.set("name", draft::string(&name), None);
        if let Some(v) = self.number(id, "VisibilityTimeout", p.get("VisibilityTimeout")) {
            s.set(
                "visibility_timeout",
                draft::seconds(v),
                Some("VisibilityTimeout".into()),
            );
        }
        if let Some(v) = self.number(
            id,
            "MessageRetentionPeriod",
            p.get("MessageRetentionPeriod"),
        ) {
            s.set(
                "message_retention",
                draft::seconds(v),
                Some("MessageRetentionPeriod".into()),
            );
        }
        if let Some(policy) = p.get("RedrivePolicy") {
            let policy = match policy {
                Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
                other => other.clone(),
            };
            let target = policy.get("deadLetterTargetArn").and_then(referenced_id);
            match target.filter(|t| self.resources.contains_key(t)) {
                Some(dlq) => {
                    let dlq_name = self.queue_name_of(&dlq);
                    s.set(
                        "dead_letter_queue",
                        draft::string(&dlq_name),
                        Some("RedrivePolicy".into()),
                    );
                    if let Some(n) = self.number(
                        id,
                        "RedrivePolicy.maxReceiveCount",
                        policy.get("maxReceiveCount"),
                    ) {
                        s.set("max_receive_count", draft::number(n), None);
                    }
                }
                None => self.unmapped(
                    id,
                    "RedrivePolicy: its dead-letter queue is not in this template",
                ),
            }
        }
        for key in p.keys() {
            if ![
                "QueueName",
                "VisibilityTimeout",
                "MessageRetentionPeriod",
                "RedrivePolicy",
            ]
            .contains(&key.as_str())
            {
                let why = if key == "FifoQueue" {
                    "simulated as a standard queue"
                } else {
                    "not simulated"
                };
                self.unmapped(id, format!("Properties.{key} ({why})"));
            }
        }
        self.queues.insert(id.to_string(), s);
    }

    /// The lambda-sim name of the queue with logical id `id` (its `QueueName` when usable).
    fn queue_name_of(&self, id: &str) -> String {
        let r = self.resources.get(id);
        r.and_then(|r| properties(r).get("QueueName"))
            .and_then(|v| self.resolver.resolve(v).known())
            .and_then(|v| v.as_str().map(str::to_string))
            .filter(|n| draft::is_name(n, 80))
            .unwrap_or_else(|| id.to_string())
    }

    /// The queue an event source points at: a queue of the template, or one declared here with SQS's defaults.
    fn source_queue(&mut self, id: &str, arn: Option<&Value>) -> Option<String> {
        let arn = arn?;
        if let Some(r) = referenced_id(arn) {
            if self.queues.contains_key(&r) {
                return Some(self.queue_name_of(&r));
            }
            if let Some(other) = self.resources.get(&r) {
                self.unmapped(
                    id,
                    format!(
                        "event source {r} ({}) is not an SQS queue (only SQS is simulated)",
                        kind(other)
                    ),
                );
                return None;
            }
        }
        let text = self.string(id, "Queue", Some(arn))?;
        if !text.starts_with("arn:aws:sqs:") {
            self.unmapped(
                id,
                format!("event source {text} is not an SQS queue (only SQS is simulated)"),
            );
            return None;
        }
        let name = label(&text, 80);
        let key = format!("~{name}");
        self.queues.entry(key).or_insert_with(|| {
            let mut s = Section::new("[[queue]]");
            s.note(format!(
                "{name}: outside this template; SQS's defaults assumed (set its visibility timeout)"
            ));
            s.set("name", draft::string(&name), None);
            s
        });
        Some(name)
    }

    /// Adds an `[[event_source]]` and, once per queue, a traffic phase sending to it.
    fn sqs_mapping(
        &mut self,
        id: &str,
        function: &str,
        queue: String,
        p: &Map<String, Value>,
        from: &str,
    ) {
        let mut s = Section::new("[[event_source]]");
        s.note(from.to_string());
        s.set("queue", draft::string(&queue), None);
        s.set("function", draft::string(function), None);
        if let Some(n) = self.number(id, "BatchSize", p.get("BatchSize")) {
            s.set("batch_size", draft::number(n), Some("BatchSize".into()));
        }
        if let Some(n) = self.number(
            id,
            "MaximumBatchingWindowInSeconds",
            p.get("MaximumBatchingWindowInSeconds"),
        ) {
            s.set(
                "batching_window",
                draft::seconds(n),
                Some("MaximumBatchingWindowInSeconds".into()),
            );
        }
        let max = p
            .get("ScalingConfig")
            .and_then(|c| c.get("MaximumConcurrency"));
        if let Some(n) = self.number(id, "ScalingConfig.MaximumConcurrency", max) {
            s.set(
                "maximum_concurrency",
                draft::number(n),
                Some("ScalingConfig".into()),
            );
        }
        if let Some(Value::Array(types)) =
            self.value(id, "FunctionResponseTypes", p.get("FunctionResponseTypes"))
            && types
                .iter()
                .any(|t| t.as_str() == Some("ReportBatchItemFailures"))
        {
            s.set(
                "report_batch_item_failures",
                "true".into(),
                Some("FunctionResponseTypes".into()),
            );
        }
        if self.boolean(id, "Enabled", p.get("Enabled")) == Some(false) {
            s.set("enabled", "false".into(), None);
        }
        for key in p.keys() {
            let mapped = [
                "Queue",
                "EventSourceArn",
                "FunctionName",
                "BatchSize",
                "MaximumBatchingWindowInSeconds",
                "ScalingConfig",
                "FunctionResponseTypes",
                "Enabled",
            ];
            if !mapped.contains(&key.as_str()) {
                self.unmapped(id, format!("{from}: {key} (not simulated)"));
            }
        }
        self.event_sources.push(s);
        if !self
            .traffic
            .iter()
            .any(|t| t.get("queue") == Some(draft::string(&queue).as_str()))
        {
            let mut t = Section::new("[[traffic]]");
            t.note(format!(
                "messages sent to {queue} (FILL IN the rate and a typical message body)"
            ));
            t.set("queue", draft::string(&queue), None);
            t.set("pattern", draft::string("poisson"), None);
            t.set(
                "rate",
                "1".into(),
                Some("FILL IN: messages per second".into()),
            );
            t.set(
                "payload",
                draft::string("{\"example\":true}"),
                Some("FILL IN: a message body".into()),
            );
            self.traffic.push(t);
        }
    }

    /// A SAM function's `Events`.
    pub(super) fn function_events(&mut self, id: &str, r: &Value) {
        let p = self.function_properties(r);
        let Some(events) = p.get("Events").and_then(Value::as_object) else {
            return;
        };
        let Some(name) = self.functions.get(id).map(|f| f.name.clone()) else {
            return;
        };
        for (event, e) in events {
            let props = e
                .get("Properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let ty = e.get("Type").and_then(Value::as_str).unwrap_or("");
            let from = format!("{id} Events.{event} (Type {ty})");
            match ty {
                "SQS" => {
                    if let Some(q) = self.source_queue(id, props.get("Queue")) {
                        self.sqs_mapping(id, &name, q, &props, &from);
                    }
                }
                "Api" | "HttpApi" => {
                    let path = self
                        .string(id, "Path", props.get("Path"))
                        .unwrap_or_else(|| "/".into());
                    let method = self
                        .string(id, "Method", props.get("Method"))
                        .unwrap_or_else(|| "GET".into());
                    let event = if ty == "Api" {
                        json!({"resource": path, "path": path, "httpMethod": method.to_uppercase(),
                               "headers": {}, "queryStringParameters": null, "body": null, "isBase64Encoded": false})
                    } else {
                        json!({"version": "2.0", "routeKey": format!("{} {path}", method.to_uppercase()),
                               "rawPath": path, "headers": {}, "isBase64Encoded": false,
                               "requestContext": {"http": {"method": method.to_uppercase(), "path": path}}})
                    };
                    self.phase(id, &name, &from, "request_response", None, event);
                }
                "Schedule" | "ScheduleV2" => {
                    let field = if ty == "Schedule" {
                        "Schedule"
                    } else {
                        "ScheduleExpression"
                    };
                    let expr = self.string(id, field, props.get(field)).unwrap_or_default();
                    match schedule_period_s(&expr) {
                        Some(period) => {
                            let event = json!({"version": "0", "detail-type": "Scheduled Event",
                                               "source": "aws.events", "detail": {}});
                            self.phase(id, &name, &from, "event", Some((period, expr)), event);
                        }
                        None => self.unmapped(
                            id,
                            format!(
                                "{from}: schedule {expr:?} has no fixed period; add a phase by hand"
                            ),
                        ),
                    }
                }
                "S3" | "SNS" | "EventBridgeRule" | "CloudWatchEvent" | "CloudWatchLogs"
                | "IoTRule" | "AlexaSkill" | "Cognito" => {
                    let event = json!({"source": format!("aws.{}", ty.to_lowercase())});
                    self.phase(id, &name, &from, "event", None, event);
                }
                _ => self.unmapped(id, format!("{from}: this event source is not simulated")),
            }
        }
    }

    /// A traffic phase invoking `function`: at a schedule's period, or at a rate to fill in.
    fn phase(
        &mut self,
        id: &str,
        function: &str,
        from: &str,
        invocation: &str,
        period: Option<(f64, String)>,
        event: Value,
    ) {
        let stand_in = self.functions.get(id).is_some_and(|f| f.stand_in);
        let mut t = Section::new("[[traffic]]");
        t.note(from.to_string());
        t.set("function", draft::string(function), None);
        if invocation != "request_response" {
            t.set(
                "invocation",
                draft::string(invocation),
                Some("an asynchronous source".into()),
            );
        }
        match period {
            Some((p, expr)) => {
                t.set("pattern", draft::string("constant"), None);
                t.set(
                    "rate",
                    draft::number(1.0 / p),
                    Some(format!("{expr}: once every {p} s")),
                );
            }
            None => {
                t.set("pattern", draft::string("poisson"), None);
                t.set(
                    "rate",
                    "1".into(),
                    Some("FILL IN: requests per second".into()),
                );
            }
        }
        if stand_in {
            t.set(
                "payload",
                draft::string("{\"wait_ms\":100}"),
                Some(
                    "FILL IN: the stand-in runs this long (your function's typical duration)"
                        .into(),
                ),
            );
        } else {
            t.set(
                "payload",
                draft::string(&event.to_string()),
                Some("a minimal event of this source".into()),
            );
        }
        self.traffic.push(t);
    }

    /// An `AWS::Lambda::EventSourceMapping`.
    pub(super) fn event_source_mapping(&mut self, id: &str, r: &Value) {
        let p = properties(r).clone();
        let Some(fid) = self.function_ref(p.get("FunctionName")) else {
            return self.unmapped(
                id,
                "EventSourceMapping: its function is not in this template",
            );
        };
        let name = self.functions[&fid].name.clone();
        if let Some(q) = self.source_queue(id, p.get("EventSourceArn")) {
            self.sqs_mapping(
                id,
                &name,
                q,
                &p,
                &format!("{id} (AWS::Lambda::EventSourceMapping)"),
            );
        }
    }

    /// `EventInvokeConfig` (SAM property or `AWS::Lambda::EventInvokeConfig`) and a dead-letter queue.
    pub(super) fn event_invoke_config(
        &mut self,
        id: &str,
        s: &mut Section,
        cfg: Option<&Value>,
        dlq: Option<&Value>,
    ) {
        let mut pairs = Vec::new();
        if let Some(cfg) = cfg {
            if let Some(n) =
                self.number(id, "MaximumRetryAttempts", cfg.get("MaximumRetryAttempts"))
            {
                pairs.push(("maximum_retry_attempts", draft::number(n)));
            }
            if let Some(n) = self.number(
                id,
                "MaximumEventAgeInSeconds",
                cfg.get("MaximumEventAgeInSeconds"),
            ) {
                pairs.push(("maximum_event_age", draft::seconds(n)));
            }
            for (key, field) in [("on_success", "OnSuccess"), ("on_failure", "OnFailure")] {
                let dest = cfg
                    .get("DestinationConfig")
                    .and_then(|d| d.get(field))
                    .and_then(|d| d.get("Destination"));
                if let Some(d) = dest {
                    let name = match referenced_id(d) {
                        Some(r) => label(&r, 64),
                        None => self
                            .string(id, field, Some(d))
                            .map_or_else(|| field.to_lowercase(), |t| label(&t, 64)),
                    };
                    pairs.push((key, draft::string(&name)));
                }
            }
        }
        if let Some(d) = dlq.and_then(|d| d.get("TargetArn"))
            && !pairs.iter().any(|(k, _)| *k == "on_failure")
        {
            let name = referenced_id(d)
                .or_else(|| self.string(id, "DeadLetterQueue.TargetArn", Some(d)))
                .unwrap_or_else(|| "dead-letter".into());
            pairs.push(("on_failure", draft::string(&label(&name, 64))));
            s.note("the dead-letter queue is written as the on-failure destination (it gets the record, not the event)");
        }
        if !pairs.is_empty() {
            s.set(
                "event_invoke_config",
                draft::inline(&pairs),
                Some("EventInvokeConfig".into()),
            );
        }
    }

    /// An `AWS::Lambda::EventInvokeConfig` resource.
    pub(super) fn event_invoke_config_resource(&mut self, id: &str, r: &Value) {
        let p = properties(r).clone();
        let Some(fid) = self.function_ref(p.get("FunctionName")) else {
            return self.unmapped(
                id,
                "EventInvokeConfig: its function is not in this template",
            );
        };
        let Some(mut f) = self.functions.remove(&fid) else {
            return;
        };
        self.event_invoke_config(id, &mut f.section, Some(&Value::Object(p)), None);
        self.functions.insert(fid, f);
    }

    /// `AWS::Lambda::Alias` / `AWS::Lambda::Version` with `ProvisionedConcurrencyConfig`.
    pub(super) fn alias_or_version(&mut self, id: &str, r: &Value) {
        let p = properties(r).clone();
        let Some(pc) = p.get("ProvisionedConcurrencyConfig") else {
            return self.unmapped(
                id,
                format!("{} without provisioned concurrency (no effect)", kind(r)),
            );
        };
        let Some(fid) = self.function_ref(p.get("FunctionName")) else {
            return self.unmapped(
                id,
                "provisioned concurrency of a function not in this template",
            );
        };
        if let Some(n) = self.number(
            id,
            "ProvisionedConcurrentExecutions",
            pc.get("ProvisionedConcurrentExecutions"),
        ) && let Some(f) = self.functions.get_mut(&fid)
        {
            f.section.set(
                "provisioned_concurrency",
                draft::number(n.max(0.0).round()),
                Some(format!(
                    "{id} ({}): every invocation is taken to go through it",
                    kind(r)
                )),
            );
        }
    }

    /// `AWS::ApplicationAutoScaling::ScalableTarget` on provisioned concurrency, with its scaling policies and
    /// scheduled actions.
    pub(super) fn scalable_target(&mut self, id: &str, r: &Value) {
        let p = properties(r).clone();
        let dimension = self
            .string(id, "ScalableDimension", p.get("ScalableDimension"))
            .unwrap_or_default();
        if dimension != "lambda:function:ProvisionedConcurrency" {
            return self.unmapped(id, format!("ScalableTarget of {dimension} (not simulated)"));
        }
        let Some(fid) = self.function_ref_in_resource_id(p.get("ResourceId")) else {
            return self.unmapped(id, "ScalableTarget: its function is not in this template");
        };
        let min = self
            .number(id, "MinCapacity", p.get("MinCapacity"))
            .unwrap_or(0.0);
        let max = self
            .number(id, "MaxCapacity", p.get("MaxCapacity"))
            .unwrap_or(min);
        let resources = self.resources;
        let policy = resources.iter().find(|(_, pr)| {
            kind(pr) == "AWS::ApplicationAutoScaling::ScalingPolicy"
                && properties(pr)
                    .get("ScalingTargetId")
                    .and_then(referenced_id)
                    .as_deref()
                    == Some(id)
        });
        let Some(mut f) = self.functions.remove(&fid) else {
            return;
        };
        if let Some((pid, policy)) = policy {
            let pp = properties(policy);
            let tt = pp.get("TargetTrackingScalingPolicyConfiguration");
            let metric = tt
                .and_then(|t| t.get("PredefinedMetricSpecification"))
                .and_then(|m| m.get("PredefinedMetricType"))
                .and_then(Value::as_str);
            if metric == Some("LambdaProvisionedConcurrencyUtilization") {
                let target = self
                    .number(pid, "TargetValue", tt.and_then(|t| t.get("TargetValue")))
                    .unwrap_or(0.7);
                let clamped = target.clamp(0.1, 0.9);
                if clamped != target {
                    self.unmapped(
                        pid,
                        format!(
                            "TargetValue {target} outside lambda-sim's 0.1–0.9; {clamped} written"
                        ),
                    );
                }
                f.section.set(
                    "provisioned_autoscaling",
                    draft::inline(&[
                        ("min", draft::number(min)),
                        ("max", draft::number(max.max(min).max(1.0))),
                        ("target", draft::number(clamped)),
                    ]),
                    Some(format!("{id} + {pid}: target tracking")),
                );
                if p.get("ScheduledActions").is_some() {
                    self.unmapped(id, "ScheduledActions beside target tracking (lambda-sim runs one or the other)");
                }
            } else {
                self.unmapped(pid, "ScalingPolicy other than target tracking on LambdaProvisionedConcurrencyUtilization");
            }
        } else if let Some(Value::Array(actions)) = p.get("ScheduledActions") {
            let mut points = Vec::new();
            for a in actions {
                let expr = self
                    .string(id, "Schedule", a.get("Schedule"))
                    .unwrap_or_default();
                let action = a.get("ScalableTargetAction");
                let count = self
                    .number(id, "MinCapacity", action.and_then(|x| x.get("MinCapacity")))
                    .or_else(|| {
                        self.number(id, "MaxCapacity", action.and_then(|x| x.get("MaxCapacity")))
                    });
                match (daily_at_s(&expr), count) {
                    (Some(at), Some(c)) => points.push((at, c)),
                    _ => self.unmapped(
                        id,
                        format!("scheduled action {expr:?}: only daily cron(M H * * ? *) maps"),
                    ),
                }
            }
            points.sort_by_key(|p| p.0);
            points.dedup_by_key(|p| p.0);
            if !points.is_empty() {
                let items: Vec<String> = points
                    .iter()
                    .map(|(at, c)| {
                        draft::inline(&[
                            ("at", draft::seconds(*at as f64)),
                            ("count", draft::number(*c)),
                        ])
                    })
                    .collect();
                f.section.set(
                    "provisioned_schedule",
                    format!("[{}]", items.join(", ")),
                    Some(format!("{id}: ScheduledActions, t = 0 taken as 00:00 UTC")),
                );
            }
        }
        self.functions.insert(fid, f);
    }

    /// The function named in a scalable target's `ResourceId` (`function:NAME:ALIAS`).
    fn function_ref_in_resource_id(&mut self, v: Option<&Value>) -> Option<String> {
        let v = v?;
        if let Some(id) = referenced_id(v).filter(|id| self.functions.contains_key(id)) {
            return Some(id);
        }
        let text = resolve::text(&self.resolver.resolve(v).known()?)?;
        let name = text.split(':').nth(1)?;
        self.functions
            .iter()
            .find(|(id, f)| f.name == name || *id == name)
            .map(|(id, _)| id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_periods() {
        assert_eq!(schedule_period_s("rate(5 minutes)"), Some(300.0));
        assert_eq!(schedule_period_s("rate(1 hour)"), Some(3600.0));
        assert_eq!(schedule_period_s("cron(0/15 * * * ? *)"), Some(900.0));
        assert_eq!(schedule_period_s("cron(0 8 * * ? *)"), Some(86_400.0));
        assert_eq!(schedule_period_s("cron(0 8 ? * MON-FRI *)"), None);
        assert_eq!(daily_at_s("cron(30 8 * * ? *)"), Some(8 * 3600 + 1800));
        assert_eq!(
            label("arn:aws:sqs:us-east-1:1:orders.fifo", 80),
            "orders-fifo"
        );
    }
}
