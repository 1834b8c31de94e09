//! `lambda-sim import sam`: templates written for these tests, one mapping each, imported through the real binary
//! and loaded back as scenarios.

mod common;

use std::path::Path;

use common::*;
use lambda_sim::scenario::{self, InvocationType, Pattern, RuntimeChoice, Scenario};

/// Imports `template` (with extra arguments) into a temporary file; returns the scenario, its text and stderr.
fn import(template: &str, extra: &[&str]) -> (Scenario, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("imported.toml");
    let out_s = out.display().to_string();
    let mut args = vec!["import", "sam", template, "-o", &out_s];
    args.extend_from_slice(extra);
    let o = lambda_sim(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let toml = std::fs::read_to_string(&out).unwrap();
    // Paths in the file are relative to the repository root, where the import ran.
    let cwd = std::env::current_dir().unwrap();
    std::env::set_current_dir(root()).unwrap();
    let loaded = scenario::load(Path::new(&out));
    std::env::set_current_dir(cwd).unwrap();
    let s = loaded.unwrap_or_else(|e| panic!("{e}\n{toml}"));
    (s, toml, text(&o.stderr))
}

fn function<'a>(s: &'a Scenario, name: &str) -> &'a scenario::FunctionSpec {
    s.functions
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no function {name}"))
}

#[test]
fn a_sam_template_maps_functions_globals_events_and_scaling() {
    let (s, toml, stderr) = import("tests/fixtures/sam/shop/template.yaml", &[]);
    let names: Vec<&str> = s.functions.iter().map(|f| f.name.as_str()).collect();
    // DevOnlyFunction's Condition is false with the default Stage.
    assert_eq!(
        names,
        [
            "OrdersFunction",
            "ReportsFunction",
            "ThumbnailFunction",
            "shop-web-prod"
        ]
    );

    // Globals (Timeout 10, MemorySize 256, arm64) unless the function sets its own; !FindInMap, !If, !Sub.
    let web = function(&s, "shop-web-prod");
    assert_eq!((web.memory_mb, web.timeout_ns), (512, 10_000_000_000));
    assert_eq!(web.architecture, scenario::Architecture::Arm64);
    assert_eq!(web.provisioned_concurrency, 5);
    let tt = web.provisioned_autoscaling.expect("target tracking");
    assert_eq!((tt.min, tt.max, tt.target), (5, 50, 0.7));
    assert!(
        web.code.ends_with("tests/fixtures/sam/shop/web/"),
        "{}",
        web.code.display()
    );
    assert_eq!(web.handler.as_deref(), Some("app.lambdaHandler"));

    let orders = function(&s, "OrdersFunction");
    assert_eq!((orders.memory_mb, orders.timeout_ns), (256, 30_000_000_000));
    assert_eq!(orders.reserved_concurrency, Some(20));
    assert_eq!(orders.handler.as_deref(), Some("app.lambda_handler"));

    // Java: the stand-in, the nearest runtime preset, SnapStart, async settings; MemorySize is a placeholder.
    let reports = function(&s, "ReportsFunction");
    assert!(
        reports.code.ends_with("functions/stand-in"),
        "{}",
        reports.code.display()
    );
    assert!(matches!(reports.runtime, RuntimeChoice::Preset(r) if r.name() == "java21"));
    assert!(reports.snapshot);
    assert_eq!(reports.memory_mb, 128);
    assert_eq!(reports.event_invoke_config.maximum_retry_attempts, 1);
    assert_eq!(
        reports.event_invoke_config.maximum_event_age_ns,
        3_600_000_000_000
    );
    assert_eq!(
        reports.event_invoke_config.on_failure.as_deref(),
        Some("OrdersDLQ")
    );
    assert!(
        toml.contains(
            "memory_mb = 128  # PLACEHOLDER: MemorySize: parameter ReportsMemory has no Default"
        ),
        "{toml}"
    );
    assert!(
        stderr.contains("placeholder: ReportsFunction: MemorySize"),
        "{stderr}"
    );

    // The queue, its redrive policy and the SQS event's mapping.
    let q = s
        .queues
        .iter()
        .position(|q| q.name == "OrdersQueue")
        .unwrap();
    let dlq = s
        .queues
        .iter()
        .position(|q| q.name == "orders-dlq")
        .unwrap();
    assert_eq!(s.queues[q].visibility_timeout_ns, 180_000_000_000);
    assert_eq!(s.queues[q].retention_ns, 86_400_000_000_000);
    assert_eq!(
        (s.queues[q].dead_letter_queue, s.queues[q].max_receive_count),
        (Some(dlq), Some(5))
    );
    let [m] = s.event_sources.as_slice() else {
        panic!("one mapping")
    };
    assert_eq!(
        (m.queue, s.functions[m.function].name.as_str()),
        (q, "OrdersFunction")
    );
    assert_eq!(
        (m.batch_size, m.batching_window_ns, m.maximum_concurrency),
        (25, 2_000_000_000, Some(5))
    );
    assert!(m.report_batch_item_failures);

    // Traffic: the queue, the schedule (async, once per 15 min), the S3 event (async), two API routes.
    let schedule = s
        .traffic
        .iter()
        .find(|t| {
            t.function()
                .is_some_and(|f| s.functions[f].name == "ReportsFunction")
        })
        .unwrap();
    assert_eq!(schedule.invocation, InvocationType::Event);
    assert!(
        matches!(schedule.pattern, Pattern::Constant { rate } if (rate * 900.0 - 1.0).abs() < 1e-9)
    );
    let api = s
        .traffic
        .iter()
        .filter(|t| {
            t.function()
                .is_some_and(|f| s.functions[f].name == "shop-web-prod")
        })
        .count();
    assert_eq!((s.traffic.len(), api), (5, 2));
    assert!(toml.contains("\"httpMethod\":\"GET\""), "{toml}");

    // Nothing dropped silently: each unmapped item is listed with its logical id, in the file and on stderr.
    for item in [
        "OrdersTable: AWS::DynamoDB::Table",
        "OrdersFunction: Properties.Layers",
        "Events.Stream (Type Kinesis)",
        "DevOnlyFunction: skipped: its Condition IsDev is false",
        "ThumbnailFunction: DeadLetterQueue.TargetArn: Fn::ImportValue",
    ] {
        assert!(stderr.contains(item), "stderr lacks {item}: {stderr}");
        assert!(toml.contains(item), "file lacks {item}");
    }
}

#[test]
fn parameters_change_what_is_deployed() {
    let (s, toml, stderr) = import(
        "tests/fixtures/sam/shop/template.yaml",
        &[
            "--parameter",
            "Stage=dev",
            "--parameter",
            "ReportsMemory=2048",
        ],
    );
    assert_eq!(function(&s, "ReportsFunction").memory_mb, 2048);
    assert!(
        !toml.contains("PLACEHOLDER: parameter ReportsMemory"),
        "{toml}"
    );
    // Stage=dev: the dev-only function exists; the web function has 128 MB and no provisioned concurrency.
    let web = function(&s, "shop-web-dev");
    assert_eq!((web.memory_mb, web.provisioned_concurrency), (128, 0));
    assert!(
        s.functions.iter().any(|f| f.name == "DevOnlyFunction"),
        "{stderr}"
    );

    let o = lambda_sim(&[
        "import",
        "sam",
        "tests/fixtures/sam/shop/template.yaml",
        "--parameter",
        "Nope=1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--parameter Nope: the template declares no parameter Nope"));
}

#[test]
fn a_cloudformation_json_template_maps_mappings_aliases_and_schedules() {
    let (s, toml, stderr) = import("tests/fixtures/sam/pipeline.json", &[]);
    let worker = function(&s, "worker");
    assert_eq!(
        (worker.memory_mb, worker.provisioned_concurrency),
        (1024, 3)
    );
    // Scheduled actions at 08:00 and 18:30, taken from t = 0 at midnight.
    assert_eq!(
        worker.provisioned_schedule,
        vec![
            (8 * 3_600_000_000_000, 10),
            (18 * 3_600_000_000_000 + 1_800_000_000_000, 0)
        ]
    );
    assert!(worker.code.ends_with("functions/stand-in"));
    let [m] = s.event_sources.as_slice() else {
        panic!("one mapping")
    };
    assert_eq!((s.queues[m.queue].name.as_str(), m.batch_size), ("jobs", 5));
    assert_eq!(s.queues[m.queue].visibility_timeout_ns, 360_000_000_000);
    let notifier = function(&s, "Notifier");
    assert_eq!(notifier.reserved_concurrency, Some(2));
    assert_eq!(notifier.event_invoke_config.maximum_retry_attempts, 0);
    assert_eq!(
        notifier.event_invoke_config.on_success.as_deref(),
        Some("notified")
    );
    assert!(matches!(notifier.runtime, RuntimeChoice::Preset(r) if r.name() == "provided.al2023"));
    assert!(
        stderr.contains("Notifier: provided.al2023 code cannot run in lambda-sim"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Worker: java21 code cannot run in lambda-sim"),
        "{stderr}"
    );
    assert!(stderr.contains("WorkerRole: AWS::IAM::Role"), "{stderr}");
    // A stream's mapping is named as such, not taken for a queue.
    assert!(
        stderr.contains(
            "ClicksMapping: event source Clicks (AWS::Kinesis::Stream) is not an SQS queue"
        ),
        "{stderr}"
    );
    assert!(toml.contains("[[traffic]]\nqueue = \"jobs\""), "{toml}");
}

#[test]
fn an_imported_scenario_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pipeline.toml");
    let o = lambda_sim(&[
        "import",
        "sam",
        "tests/fixtures/sam/pipeline.json",
        "-o",
        &out.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let json = dir.path().join("report.json");
    let o = lambda_sim(&[
        "run",
        &out.display().to_string(),
        "--json",
        &json.display().to_string(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let names: Vec<&str> = report["functions"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        names.contains(&"worker") && names.contains(&"Notifier"),
        "{names:?}"
    );
}

#[test]
fn template_errors_name_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "Resources:\n  Fn:\n    Type: [AWS::Lambda::Function\n",
    )
    .unwrap();
    let o = lambda_sim(&["import", "sam", &bad.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains(&format!("{}:4:1:", bad.display())), "{err}");

    std::fs::write(
        &bad,
        "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n",
    )
    .unwrap();
    let o = lambda_sim(&["import", "sam", &bad.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no AWS::Serverless::Function or AWS::Lambda::Function"));
    let o = lambda_sim(&["import", "sam", "no/such/template.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no/such/template.yaml: No such file"),
        "{}",
        text(&o.stderr)
    );
}
