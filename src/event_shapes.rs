//! Lambda's event shapes for event sources, built and read by the drivers: the SQS batch event a handler receives,
//! its partial batch response, and the invocation record an async event's destination gets.
//!
//! Shapes follow the AWS documentation (docs/lambda.md §5 invocation record, §10 SQS event and
//! `batchItemFailures`). Everything here is deterministic: ids come from the run's seed, times from the driver.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::model::RequestId;

/// The account and Region lambda-sim's ARNs use.
pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// A message's `messageId`: a UUID derived from the run's seed and the message's number.
pub fn message_id(seed: u64, id: u64) -> String {
    // A stream apart from request ids (which use `RequestId::nth(seed, n)` directly).
    RequestId::nth(seed ^ 0x5153_5f6d_6573_7361, id).to_string()
}

/// The queue's ARN.
pub fn queue_arn(queue: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue}")
}

/// A function's ARN.
pub fn function_arn(function: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function}")
}

/// One message of a batch, as the driver knows it.
#[derive(Debug, Clone)]
pub struct SqsRecord<'a> {
    pub id: u64,
    pub receive_count: u32,
    /// When it was sent and first received, ms since the Unix epoch.
    pub sent_ms: u64,
    pub first_receive_ms: u64,
    pub body: &'a [u8],
}

/// The event a function gets from an SQS event source mapping: `{"Records": [...]}`.
pub fn sqs_event(seed: u64, queue: &str, records: &[SqsRecord<'_>]) -> Bytes {
    let arn = queue_arn(queue);
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let body = String::from_utf8_lossy(r.body);
            let id = message_id(seed, r.id);
            json!({
                "messageId": id,
                "receiptHandle": format!("AQEB{}", id.replace('-', "")),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": r.receive_count.to_string(),
                    "SentTimestamp": r.sent_ms.to_string(),
                    "SenderId": format!("AIDA{ACCOUNT_ID}"),
                    "ApproximateFirstReceiveTimestamp": r.first_receive_ms.to_string(),
                },
                "messageAttributes": {},
                "md5OfBody": format!("{:x}", md5_like(body.as_bytes())),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": REGION,
            })
        })
        .collect();
    Bytes::from(json!({ "Records": records }).to_string())
}

/// A stand-in for the body's MD5 (lambda-sim has no MD5 dependency): the first 128 bits of its SHA-256, which
/// has the same shape; handlers that verify it against MD5 would notice.
fn md5_like(body: &[u8]) -> u128 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(body);
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_be_bytes(b)
}

/// What a batch's response means, with `ReportBatchItemFailures` enabled (docs/lambda.md §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchVerdict {
    /// Every message succeeded: an empty or null response, or an empty or null `batchItemFailures` list.
    Success,
    /// These messages (indices into the batch) failed; the others succeeded.
    Partial(Vec<usize>),
    /// The whole batch failed: invalid JSON, an empty or null `itemIdentifier`, a bad key, an unknown id.
    WholeBatch,
}

/// Reads a successful invocation's response as a partial batch response for a batch whose message ids are `ids`.
pub fn batch_response(response: &[u8], ids: &[String]) -> BatchVerdict {
    if response.iter().all(u8::is_ascii_whitespace) {
        return BatchVerdict::Success;
    }
    let Ok(value) = serde_json::from_slice::<Value>(response) else {
        return BatchVerdict::WholeBatch;
    };
    let failures = match &value {
        Value::Null => return BatchVerdict::Success,
        Value::Object(map) => match map.get("batchItemFailures") {
            None | Some(Value::Null) => return BatchVerdict::Success,
            Some(Value::Array(items)) => items,
            Some(_) => return BatchVerdict::WholeBatch,
        },
        _ => return BatchVerdict::Success,
    };
    if failures.is_empty() {
        return BatchVerdict::Success;
    }
    let mut failed = Vec::with_capacity(failures.len());
    for item in failures {
        let Some(id) = item.get("itemIdentifier").and_then(Value::as_str) else {
            return BatchVerdict::WholeBatch;
        };
        match ids.iter().position(|x| x == id) {
            Some(i) if !id.is_empty() => {
                if !failed.contains(&i) {
                    failed.push(i);
                }
            }
            _ => return BatchVerdict::WholeBatch,
        }
    }
    failed.sort_unstable();
    BatchVerdict::Partial(failed)
}

/// Why an async event's record was written: it succeeded, or how it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordCondition {
    Success,
    Failed(crate::model::events::FailureCondition),
    /// Not ended when the run shut down: queued, waiting for a retry, or its attempt cut off (lambda-sim's
    /// condition, not Lambda's: on Lambda the event would still be processed).
    Shutdown,
}

impl RecordCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordCondition::Success => "Success",
            RecordCondition::Failed(c) => c.as_str(),
            RecordCondition::Shutdown => "SimulatorShutdown",
        }
    }
}

/// The last attempt's outcome, for the record's `responseContext` and `responsePayload`.
#[derive(Debug, Clone)]
pub struct LastResponse<'a> {
    /// 200 for an invocation that ran (even if the function failed), 429 for a throttle, 500 otherwise.
    pub status_code: u16,
    /// `"Unhandled"` / `"Handled"` for a function error.
    pub function_error: Option<&'a str>,
    pub payload: &'a [u8],
}

/// The invocation record (one JSON line) sent to an async event's on-success or on-failure destination.
pub fn invocation_record(
    timestamp_ms: u64,
    request_id: &str,
    function: &str,
    condition: RecordCondition,
    approximate_invoke_count: u32,
    request_payload: &[u8],
    last: Option<&LastResponse<'_>>,
) -> String {
    let as_json = |b: &[u8]| {
        serde_json::from_slice::<Value>(b)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned()))
    };
    let mut record = json!({
        "version": "1.0",
        "timestamp": iso8601(timestamp_ms),
        "requestContext": {
            "requestId": request_id,
            "functionArn": format!("{}:$LATEST", function_arn(function)),
            "condition": condition.as_str(),
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": as_json(request_payload),
    });
    if let Some(last) = last {
        let mut ctx = json!({ "statusCode": last.status_code, "executedVersion": "$LATEST" });
        if let Some(e) = last.function_error {
            ctx["functionError"] = Value::from(e);
        }
        record["responseContext"] = ctx;
        if !last.payload.is_empty() {
            record["responsePayload"] = as_json(last.payload);
        }
    }
    record.to_string()
}

/// `2026-01-01T00:00:00.000Z` from ms since the Unix epoch (UTC; civil-from-days conversion).
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days → civil date.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso8601_utc() {
        assert_eq!(iso8601(1_767_225_600_000), "2026-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn an_sqs_event_has_lambdas_shape() {
        let e = sqs_event(
            7,
            "orders",
            &[SqsRecord {
                id: 1,
                receive_count: 2,
                sent_ms: 1_767_225_600_000,
                first_receive_ms: 1_767_225_600_500,
                body: br#"{"order":1}"#,
            }],
        );
        let v: Value = serde_json::from_slice(&e).unwrap_or(Value::Null);
        let r = &v["Records"][0];
        assert_eq!(r["messageId"], Value::from(message_id(7, 1)));
        assert_eq!(r["body"], "{\"order\":1}");
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "2");
        assert_eq!(r["attributes"]["SentTimestamp"], "1767225600000");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(
            r["eventSourceARN"],
            "arn:aws:sqs:us-east-1:123456789012:orders"
        );
        assert_ne!(message_id(7, 1), message_id(7, 2));
        assert_eq!(message_id(7, 1), message_id(7, 1));
    }

    #[test]
    fn batch_responses_follow_lambdas_rules() {
        let ids: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        assert_eq!(batch_response(b"", &ids), BatchVerdict::Success);
        assert_eq!(batch_response(b"null", &ids), BatchVerdict::Success);
        assert_eq!(
            batch_response(br#"{"batchItemFailures":[]}"#, &ids),
            BatchVerdict::Success
        );
        assert_eq!(
            batch_response(br#"{"batchItemFailures":null}"#, &ids),
            BatchVerdict::Success
        );
        assert_eq!(
            batch_response(
                br#"{"batchItemFailures":[{"itemIdentifier":"c"},{"itemIdentifier":"a"}]}"#,
                &ids
            ),
            BatchVerdict::Partial(vec![0, 2])
        );
        for bad in [
            &br#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#[..],
            br#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
            br#"{"batchItemFailures":[{"id":"a"}]}"#,
            br#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
            b"not json",
        ] {
            assert_eq!(
                batch_response(bad, &ids),
                BatchVerdict::WholeBatch,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn an_invocation_record_has_lambdas_shape() {
        let line = invocation_record(
            1_767_225_660_000,
            "req-1",
            "worker",
            RecordCondition::Failed(crate::model::events::FailureCondition::RetriesExhausted),
            3,
            br#"{"x":1}"#,
            Some(&LastResponse {
                status_code: 200,
                function_error: Some("Unhandled"),
                payload: br#"{"errorType":"FlakyError","errorMessage":"boom"}"#,
            }),
        );
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        assert_eq!(v["version"], "1.0");
        assert_eq!(v["timestamp"], "2026-01-01T00:01:00.000Z");
        assert_eq!(v["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(v["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(
            v["requestContext"]["functionArn"],
            "arn:aws:lambda:us-east-1:123456789012:function:worker:$LATEST"
        );
        assert_eq!(v["requestPayload"]["x"], 1);
        assert_eq!(v["responseContext"]["functionError"], "Unhandled");
        assert_eq!(v["responsePayload"]["errorType"], "FlakyError");
    }
}
