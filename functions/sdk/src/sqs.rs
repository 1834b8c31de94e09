//! Typed Amazon SQS event and partial batch response, exactly as Lambda's SQS event source mapping sends and reads
//! them.
//!
//! A function behind an SQS event source mapping receives an [`SqsEvent`] (`{"Records":[…]}`, up to the mapping's
//! batch size) and may answer with an [`SqsBatchResponse`] (`{"batchItemFailures":[{"itemIdentifier":"…"}]}`) to
//! have only some messages retried. Field names and shapes follow the AWS Lambda Developer Guide:
//!
//! - event: "Using Lambda with Amazon SQS", *Example standard queue message event*,
//!   <https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html> (archived copy:
//!   github.com/awsdocs/aws-lambda-developer-guide, `doc_source/with-sqs.md`);
//! - response: "Handling errors for an SQS event source in Lambda", *Implementing partial batch responses*,
//!   <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>.
//!
//! As AWS sends them, the system `attributes` are all strings (`"ApproximateReceiveCount": "2"`, timestamps in epoch
//! milliseconds as strings); [`SqsMessage::receive_count`] and friends parse them.
//!
//! The partial batch response only counts when the mapping has `ReportBatchItemFailures` enabled
//! (`report_batch_item_failures = true` in a lambda-sim scenario). Without it Lambda ignores the response body, so a
//! batch that returns failures here is still a success and all its messages are deleted; to fail the whole batch,
//! return an `Err` from the handler instead.
//!
//! ```
//! use lambda_sim_sdk::sqs::{SqsBatchResponse, SqsEvent};
//! use lambda_sim_sdk::{Context, Error};
//!
//! fn worker(event: SqsEvent, _ctx: &Context) -> Result<SqsBatchResponse, Error> {
//!     Ok(event.process_each(|message| {
//!         let order: serde_json::Value = message.body_json()?;
//!         println!("order {order} (receive {})", message.receive_count());
//!         Ok::<(), Error>(())
//!     }))
//! }
//!
//! lambda_sim_sdk::handler!(worker);
//! ```

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The event Lambda sends for a batch of SQS messages: `{"Records": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqsEvent {
    /// The messages of the batch, in the order Lambda received them.
    #[serde(rename = "Records")]
    pub records: Vec<SqsMessage>,
}

/// One SQS message in an [`SqsEvent`].
///
/// The fields AWS always sends are required when decoding; the optional ones are skipped when encoding if absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsMessage {
    /// The message id (a UUID): what [`BatchItemFailure::item_identifier`] must name.
    pub message_id: String,
    /// The receipt handle of this receive (a new one on every receive).
    pub receipt_handle: String,
    /// The message body, as sent (not URL-encoded). Often JSON: see [`SqsMessage::body_json`].
    pub body: String,
    /// The message system attributes (receive count, timestamps, sender).
    pub attributes: SqsAttributes,
    /// The message attributes the sender set, by name (`{}` when none).
    #[serde(default)]
    pub message_attributes: BTreeMap<String, MessageAttributeValue>,
    /// Hex MD5 digest of the body.
    pub md5_of_body: String,
    /// Hex MD5 digest of the message attributes, when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5_of_message_attributes: Option<String>,
    /// Always `"aws:sqs"`.
    pub event_source: String,
    /// The queue's ARN, e.g. `arn:aws:sqs:us-east-1:123456789012:orders`.
    #[serde(rename = "eventSourceARN")]
    pub event_source_arn: String,
    /// The queue's Region, e.g. `us-east-1`.
    pub aws_region: String,
}

/// The message system attributes of an [`SqsMessage`] (`attributes`), strings as AWS sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SqsAttributes {
    /// How many times the message has been received (this receive included) without being deleted.
    pub approximate_receive_count: String,
    /// When the message was sent, in epoch milliseconds.
    pub sent_timestamp: String,
    /// The IAM user or role id of the sender.
    pub sender_id: String,
    /// When the message was first received, in epoch milliseconds.
    pub approximate_first_receive_timestamp: String,
    /// The X-Ray trace header, when tracing is on.
    #[serde(
        rename = "AWSTraceHeader",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub aws_trace_header: Option<String>,
    /// The ARN of the source queue, for a message moved back from a dead-letter queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue_source_arn: Option<String>,
    /// FIFO queues only: the message's sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// FIFO queues only: the message group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
    /// FIFO queues only: the deduplication id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_deduplication_id: Option<String>,
}

/// One sender-set message attribute: `{"stringValue": "…", "stringListValues": [], "binaryListValues": [],
/// "dataType": "String"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageAttributeValue {
    /// `String`, `Number` or `Binary`, optionally with a custom suffix (`Number.int`).
    pub data_type: String,
    /// The value of a `String` or `Number` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// The base64 value of a `Binary` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
    /// Reserved by SQS (always empty).
    #[serde(default)]
    pub string_list_values: Vec<String>,
    /// Reserved by SQS (always empty).
    #[serde(default)]
    pub binary_list_values: Vec<String>,
}

impl SqsMessage {
    /// `ApproximateReceiveCount` as a number: 1 on the first receive, 2 on the first retry, … (0 if the attribute is
    /// not a number, which AWS never sends).
    pub fn receive_count(&self) -> u32 {
        self.attributes
            .approximate_receive_count
            .trim()
            .parse()
            .unwrap_or(0)
    }

    /// `SentTimestamp` in epoch milliseconds, if it is a number.
    pub fn sent_timestamp_ms(&self) -> Option<u64> {
        self.attributes.sent_timestamp.trim().parse().ok()
    }

    /// `ApproximateFirstReceiveTimestamp` in epoch milliseconds, if it is a number.
    pub fn first_receive_timestamp_ms(&self) -> Option<u64> {
        self.attributes
            .approximate_first_receive_timestamp
            .trim()
            .parse()
            .ok()
    }

    /// The body decoded as JSON into `T`.
    pub fn body_json<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(&self.body)
    }

    /// A [`BatchItemFailure`] naming this message, to have it (and only it) retried.
    pub fn failure(&self) -> BatchItemFailure {
        BatchItemFailure::new(self.message_id.clone())
    }
}

impl SqsEvent {
    /// Runs `process` on every message in order and returns a partial batch response listing the messages for
    /// which it returned `Err` (all of them are processed, whatever fails). The error itself is dropped; log it in
    /// `process` if you need it.
    pub fn process_each<E>(
        &self,
        mut process: impl FnMut(&SqsMessage) -> Result<(), E>,
    ) -> SqsBatchResponse {
        SqsBatchResponse::from_failures(
            self.records
                .iter()
                .filter(|message| process(message).is_err())
                .map(|message| message.message_id.clone()),
        )
    }

    /// The message ids of the batch, in order.
    pub fn message_ids(&self) -> impl Iterator<Item = &str> {
        self.records.iter().map(|m| m.message_id.as_str())
    }
}

/// A partial batch response: the messages of the batch that failed and must be retried; all others are deleted.
/// An empty list means the whole batch succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsBatchResponse {
    /// The failed messages (`batchItemFailures`).
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One failed message in an [`SqsBatchResponse`]: `{"itemIdentifier": "<messageId>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The failed message's `messageId`. Empty, or unknown to the batch, makes Lambda fail the whole batch.
    pub item_identifier: String,
}

impl BatchItemFailure {
    /// A failure naming message `message_id`.
    pub fn new(message_id: impl Into<String>) -> Self {
        BatchItemFailure {
            item_identifier: message_id.into(),
        }
    }
}

impl SqsBatchResponse {
    /// The response for a batch where every message succeeded: `{"batchItemFailures":[]}`.
    pub fn success() -> Self {
        SqsBatchResponse::default()
    }

    /// A response listing the given message ids as failed, in the given order.
    pub fn from_failures<I>(message_ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        SqsBatchResponse {
            batch_item_failures: message_ids.into_iter().map(BatchItemFailure::new).collect(),
        }
    }

    /// Adds message `message_id` to the failures.
    pub fn add_failure(&mut self, message_id: impl Into<String>) {
        self.batch_item_failures
            .push(BatchItemFailure::new(message_id));
    }

    /// True when no message failed.
    pub fn is_success(&self) -> bool {
        self.batch_item_failures.is_empty()
    }

    /// The failed message ids, in order.
    pub fn failed_ids(&self) -> impl Iterator<Item = &str> {
        self.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The "Example standard queue message event" of the AWS Lambda Developer Guide (with-sqs), with one message
    /// attribute added (in the shape SQS gives it) and the second record's body and receive count changed.
    const AWS_EXAMPLE: &str = r#"{
        "Records": [
            {
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
                "body": "test",
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082649185"
                },
                "messageAttributes": {
                    "myAttribute": {
                        "stringValue": "myValue",
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "String"
                    }
                },
                "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
                "awsRegion": "us-east-2"
            },
            {
                "messageId": "2e1424d4-f796-459a-8184-9c92662be6da",
                "receiptHandle": "AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq...",
                "body": "{\"order\": 17}",
                "attributes": {
                    "ApproximateReceiveCount": "3",
                    "SentTimestamp": "1545082650636",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082650649"
                },
                "messageAttributes": {},
                "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
                "awsRegion": "us-east-2"
            }
        ]
    }"#;

    #[test]
    fn parses_the_aws_example_event() {
        let event: SqsEvent = serde_json::from_str(AWS_EXAMPLE).unwrap();
        assert_eq!(event.records.len(), 2);
        let first = &event.records[0];
        assert_eq!(first.message_id, "059f36b4-87a3-44ab-83d2-661975830a7d");
        assert_eq!(
            first.receipt_handle,
            "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a..."
        );
        assert_eq!(first.body, "test");
        assert_eq!(first.receive_count(), 1);
        assert_eq!(first.sent_timestamp_ms(), Some(1_545_082_649_183));
        assert_eq!(first.first_receive_timestamp_ms(), Some(1_545_082_649_185));
        assert_eq!(first.attributes.sender_id, "AIDAIENQZJOLO23YVJ4VO");
        assert_eq!(first.md5_of_body, "098f6bcd4621d373cade4e832627b4f6");
        assert_eq!(first.event_source, "aws:sqs");
        assert_eq!(
            first.event_source_arn,
            "arn:aws:sqs:us-east-2:123456789012:my-queue"
        );
        assert_eq!(first.aws_region, "us-east-2");
        let attribute = &first.message_attributes["myAttribute"];
        assert_eq!(attribute.data_type, "String");
        assert_eq!(attribute.string_value.as_deref(), Some("myValue"));

        let second = &event.records[1];
        assert_eq!(second.receive_count(), 3);
        assert!(second.message_attributes.is_empty());
        let body: serde_json::Value = second.body_json().unwrap();
        assert_eq!(body, json!({"order": 17}));
        assert!(first.body_json::<serde_json::Value>().is_err());
        assert_eq!(
            event.message_ids().collect::<Vec<_>>(),
            [
                "059f36b4-87a3-44ab-83d2-661975830a7d",
                "2e1424d4-f796-459a-8184-9c92662be6da"
            ]
        );
    }

    #[test]
    fn encodes_back_to_the_aws_shape() {
        let event: SqsEvent = serde_json::from_str(AWS_EXAMPLE).unwrap();
        let original: serde_json::Value = serde_json::from_str(AWS_EXAMPLE).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), original);
    }

    #[test]
    fn a_missing_required_field_is_an_error_naming_it() {
        let mut value: serde_json::Value = serde_json::from_str(AWS_EXAMPLE).unwrap();
        value["Records"][0]
            .as_object_mut()
            .unwrap()
            .remove("messageId");
        let err = serde_json::from_value::<SqsEvent>(value).unwrap_err();
        assert!(err.to_string().contains("messageId"), "{err}");
    }

    #[test]
    fn fifo_and_trace_attributes_are_optional() {
        let mut value: serde_json::Value = serde_json::from_str(AWS_EXAMPLE).unwrap();
        value["Records"][0]["attributes"]["MessageGroupId"] = json!("group-1");
        value["Records"][0]["attributes"]["AWSTraceHeader"] = json!("Root=1-5e1b4151");
        let event: SqsEvent = serde_json::from_value(value).unwrap();
        let attributes = &event.records[0].attributes;
        assert_eq!(attributes.message_group_id.as_deref(), Some("group-1"));
        assert_eq!(
            attributes.aws_trace_header.as_deref(),
            Some("Root=1-5e1b4151")
        );
        assert_eq!(event.records[1].attributes.message_group_id, None);
    }

    #[test]
    fn batch_response_has_the_exact_aws_json() {
        let response = SqsBatchResponse::from_failures(["id2", "id4"]);
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"batchItemFailures":[{"itemIdentifier":"id2"},{"itemIdentifier":"id4"}]}"#
        );
        assert_eq!(response.failed_ids().collect::<Vec<_>>(), ["id2", "id4"]);
        assert!(!response.is_success());
        assert_eq!(
            serde_json::to_string(&SqsBatchResponse::success()).unwrap(),
            r#"{"batchItemFailures":[]}"#
        );
        assert!(SqsBatchResponse::success().is_success());
    }

    #[test]
    fn add_failure_and_round_trip() {
        let mut response = SqsBatchResponse::success();
        response.add_failure(String::from("a"));
        response.add_failure("b");
        let text = serde_json::to_string(&response).unwrap();
        let back: SqsBatchResponse = serde_json::from_str(&text).unwrap();
        assert_eq!(back, response);
        assert_eq!(back.failed_ids().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn process_each_lists_only_the_failed_messages_and_processes_all() {
        let event: SqsEvent = serde_json::from_str(AWS_EXAMPLE).unwrap();
        let mut seen = Vec::new();
        let response = event.process_each(|message| {
            seen.push(message.message_id.clone());
            message.body_json::<serde_json::Value>().map(|_| ())
        });
        assert_eq!(seen.len(), 2);
        assert_eq!(
            response,
            SqsBatchResponse {
                batch_item_failures: vec![event.records[0].failure()]
            }
        );
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]})
        );
    }

    #[test]
    fn receive_count_of_a_malformed_attribute_is_zero() {
        let mut event: SqsEvent = serde_json::from_str(AWS_EXAMPLE).unwrap();
        event.records[0].attributes.approximate_receive_count = "many".into();
        assert_eq!(event.records[0].receive_count(), 0);
    }
}
