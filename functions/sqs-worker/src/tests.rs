//! Native tests of `sqs-worker` against the SDK's stand-in host (`lambda_sim_sdk::testing`).

use super::*;
use lambda_sim_sdk::{run, testing};
use serde_json::json;

/// An SQS event in Lambda's shape with one record per `(message id, receive count, body)`.
fn event(records: &[(&str, u32, Value)]) -> Vec<u8> {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, receives, body)| {
            json!({
                "messageId": id,
                "receiptHandle": format!("AQEB{id}"),
                "body": body.to_string(),
                "attributes": {
                    "ApproximateReceiveCount": receives.to_string(),
                    "SentTimestamp": "1767225600000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1767225600005"
                },
                "messageAttributes": {},
                "md5OfBody": "00000000000000000000000000000000",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "Records": records })).expect("a JSON value always encodes")
}

fn failures(ids: &[&str]) -> Value {
    json!({ "batchItemFailures": ids.iter().map(|id| json!({"itemIdentifier": id})).collect::<Vec<_>>() })
}

#[test]
fn a_good_batch_succeeds_and_waits_per_record() {
    let inv = testing::invoke(
        &event(&[
            ("m1", 1, json!({"order": 1, "work_ms": 5})),
            ("m2", 1, json!({"order": 2, "work_ms": 7.5})),
            ("m3", 1, json!({})),
        ]),
        || run(sqs_worker),
    );
    assert_eq!(inv.status, 0, "{:?}", inv.error);
    assert_eq!(inv.json().unwrap(), failures(&[]));
    assert_eq!(inv.waited, Duration::from_micros(12_500));
}

#[test]
fn a_poison_message_is_the_only_failure_and_skips_its_work() {
    let inv = testing::invoke(
        &event(&[
            ("m1", 1, json!({"order": 1, "work_ms": 5})),
            ("m2", 4, json!({"order": 2, "poison": true, "work_ms": 100})),
            ("m3", 1, json!({"order": 3, "work_ms": 5})),
        ]),
        || run(sqs_worker),
    );
    assert_eq!(inv.status, 0, "{:?}", inv.error);
    assert_eq!(
        serde_json::from_slice::<Value>(&inv.response).unwrap(),
        failures(&["m2"])
    );
    assert_eq!(inv.waited, Duration::from_millis(10));
}

#[test]
fn poison_may_be_a_number_for_payload_templates() {
    let inv = testing::invoke(
        &event(&[
            ("m1", 1, json!({"poison": 0})),
            ("m2", 1, json!({"poison": 1.0})),
            ("m3", 1, json!({"poison": false})),
        ]),
        || run(sqs_worker),
    );
    assert_eq!(inv.json().unwrap(), failures(&["m2"]));
}

#[test]
fn fail_receives_fails_the_first_receives_only() {
    let body = json!({"order": 9, "fail_receives": 2, "work_ms": 1});
    let inv = testing::invoke(
        &event(&[
            ("first", 1, body.clone()),
            ("second", 2, body.clone()),
            ("third", 3, body),
        ]),
        || run(sqs_worker),
    );
    assert_eq!(inv.json().unwrap(), failures(&["first", "second"]));
    // Transient failures happen after the work, as in a downstream call that errors.
    assert_eq!(inv.waited, Duration::from_millis(3));
}

#[test]
fn fail_rate_zero_and_one() {
    let inv = testing::invoke(
        &event(&[
            ("never", 1, json!({"fail_rate": 0})),
            ("always", 1, json!({"fail_rate": 1})),
        ]),
        || run(sqs_worker),
    );
    assert_eq!(inv.json().unwrap(), failures(&["always"]));
}

#[test]
fn malformed_bodies_fail_their_record() {
    let inv = testing::invoke(
        &event(&[
            ("text", 1, json!("not an object")),
            ("list", 1, json!([1, 2])),
            ("negative", 1, json!({"work_ms": -1})),
            ("fractional", 1, json!({"fail_receives": 1.5})),
            ("rate", 1, json!({"fail_rate": 2})),
            ("mode", 1, json!({"mode": "all"})),
            ("poison", 1, json!({"poison": "yes"})),
            ("fine", 1, json!({"order": "A-1"})),
        ]),
        || run(sqs_worker),
    );
    assert_eq!(
        inv.json().unwrap(),
        failures(&[
            "text",
            "list",
            "negative",
            "fractional",
            "rate",
            "mode",
            "poison"
        ])
    );
}

#[test]
fn body_errors_say_what_is_wrong() {
    assert_eq!(
        Order::from_body("hello").unwrap_err(),
        "body is not JSON (expected value at line 1 column 1): \"hello\""
    );
    assert_eq!(
        Order::from_body("[1]").unwrap_err(),
        "body is not a JSON object: \"[1]\""
    );
    assert_eq!(
        Order::from_body(r#"{"work_ms": -1}"#).unwrap_err(),
        "work_ms must be a number from 0 to 86400000, got -1"
    );
    assert_eq!(
        Order::from_body(r#"{"fail_receives": 1.5}"#).unwrap_err(),
        "fail_receives must be a whole number from 0 to 4294967295, got 1.5"
    );
    assert_eq!(
        Order::from_body(r#"{"mode": "all"}"#).unwrap_err(),
        "mode must be \"partial\" or \"whole-batch\", got \"all\""
    );
    let long = "x".repeat(200);
    assert!(Order::from_body(&long).unwrap_err().ends_with("xxx\"…"));
}

#[test]
fn whole_batch_mode_fails_the_invocation_at_the_first_failure() {
    let inv = testing::invoke(
        &event(&[
            (
                "m1",
                1,
                json!({"order": 1, "work_ms": 5, "mode": "whole-batch"}),
            ),
            ("m2", 2, json!({"order": 2, "poison": true})),
            ("m3", 1, json!({"order": 3, "work_ms": 5})),
        ]),
        || run(sqs_worker),
    );
    assert_eq!(inv.status, 1);
    let error = inv.error.unwrap();
    assert_eq!(error.error_type, "BatchFailed");
    assert_eq!(
        error.message,
        "message m2 (order 2) failed: poison message; 2 of 3 records processed"
    );
    // m3 was never processed.
    assert_eq!(inv.waited, Duration::from_millis(5));
}

#[test]
fn whole_batch_mode_without_failures_succeeds() {
    let inv = testing::invoke(
        &event(&[
            ("m1", 1, json!({"mode": "whole-batch"})),
            ("m2", 1, json!({})),
        ]),
        || run(sqs_worker),
    );
    assert_eq!(inv.status, 0, "{:?}", inv.error);
    assert_eq!(inv.json().unwrap(), failures(&[]));
}

#[test]
fn the_aws_example_event_is_accepted_and_its_text_bodies_fail() {
    // The AWS example's bodies are plain text ("test"), which this worker cannot parse.
    let aws = br#"{"Records":[{"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d","receiptHandle":"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...","body":"test","attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1545082649183","SenderId":"AIDAIENQZJOLO23YVJ4VO","ApproximateFirstReceiveTimestamp":"1545082649185"},"messageAttributes":{},"md5OfBody":"098f6bcd4621d373cade4e832627b4f6","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-2:123456789012:my-queue","awsRegion":"us-east-2"}]}"#;
    let inv = testing::invoke(aws, || run(sqs_worker));
    assert_eq!(
        inv.json().unwrap(),
        failures(&["059f36b4-87a3-44ab-83d2-661975830a7d"])
    );
}

#[test]
fn a_non_sqs_event_is_an_unmarshal_error() {
    let inv = testing::invoke(br#"{"order": 1}"#, || run(sqs_worker));
    assert_eq!(inv.status, 1);
    let error = inv.error.unwrap();
    assert_eq!(error.error_type, "Runtime.UnmarshalError");
    assert!(error.message.contains("Records"), "{}", error.message);
}
