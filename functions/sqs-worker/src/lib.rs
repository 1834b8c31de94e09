//! `sqs-worker`: consumes batches from an SQS event source mapping, failing the records it is told to — for poison
//! messages, partial batch responses, redrive to dead-letter queues and whole-batch retries.
//!
//! Event: Lambda's SQS event (`{"Records": [...]}`, see `lambda_sim_sdk::sqs`). Each record's `body` is a JSON object,
//! all keys optional, others ignored:
//! `{"order": 17, "poison": false, "work_ms": 5, "fail_receives": 0, "fail_rate": 0.0, "mode": "partial"}`.
//!
//! Each record, in order:
//! 1. a body that is not a JSON object, or has a key of the wrong type or out of range, fails the record;
//! 2. `"poison": true` (or any non-zero number, so that a payload template can draw it) fails the record at once,
//!    on every receive;
//! 3. otherwise the worker waits `work_ms` (≥ 0, may be fractional; a simulated downstream call), then
//! 4. fails the record while its receive count (`ApproximateReceiveCount`) is ≤ `fail_receives` — a transient
//!    failure that a retry fixes, deterministically;
//! 5. fails it with probability `fail_rate` in [0, 1] (a draw from WASI `random_get`, seeded by lambda-sim);
//! 6. otherwise the record succeeds.
//!
//! Modes:
//! - `"partial"` (default): every record is processed and the response is a partial batch response naming the
//!   failed records only, `{"batchItemFailures": [{"itemIdentifier": "<messageId>"}]}` (`[]` when all succeed).
//!   Lambda only honours it when the mapping reports batch item failures (`report_batch_item_failures = true`);
//!   otherwise it ignores the body and deletes the whole batch, failed records included.
//! - `"whole-batch"`, if the body of any record in the batch says so: the worker stops at the first failing record
//!   and fails the invocation with `errorType` `"BatchFailed"` (`errorMessage`
//!   `"message <id> (order 17) failed: poison message; 3 of 10 records processed"`), so that the whole batch
//!   returns to the queue — Lambda's default behaviour, as for a handler that throws. A batch with no failure
//!   returns `{"batchItemFailures": []}` in both modes.
//!
//! Logs one line per record (`order 17 message <id> receive 2: ok` or `…: failed: poison message`) and a summary
//! line (`batch of 10 (partial): 9 ok, 1 failed`).

use std::time::Duration;

use lambda_sim_sdk::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_sim_sdk::{Context, Error};
use serde_json::{Map, Value};

/// How a batch reports failed records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A partial batch response naming the failed records.
    Partial,
    /// A function error at the first failure: the whole batch is retried.
    WholeBatch,
}

/// One record's instructions, from its body.
#[derive(Debug, Clone, PartialEq)]
struct Order {
    order: Option<Value>,
    poison: bool,
    work_ms: f64,
    fail_receives: u32,
    fail_rate: f64,
    mode: Mode,
}

impl Order {
    /// Parses a record body; the error says what is wrong with it.
    fn from_body(body: &str) -> Result<Order, String> {
        let value: Value = serde_json::from_str(body)
            .map_err(|e| format!("body is not JSON ({e}): {}", excerpt(body)))?;
        let Value::Object(fields) = value else {
            return Err(format!("body is not a JSON object: {}", excerpt(body)));
        };
        let mode = match fields.get("mode") {
            None | Some(Value::Null) => Mode::Partial,
            Some(Value::String(s)) if s == "partial" => Mode::Partial,
            Some(Value::String(s)) if s == "whole-batch" => Mode::WholeBatch,
            Some(other) => {
                return Err(format!(
                    "mode must be \"partial\" or \"whole-batch\", got {other}"
                ));
            }
        };
        let poison = match fields.get("poison") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0),
            Some(other) => {
                return Err(format!("poison must be a boolean or a number, got {other}"));
            }
        };
        Ok(Order {
            order: fields.get("order").cloned(),
            poison,
            work_ms: number(&fields, "work_ms", 0.0, 86_400_000.0)?,
            fail_receives: match fields.get("fail_receives") {
                None | Some(Value::Null) => 0,
                Some(value) => value
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        format!(
                            "fail_receives must be a whole number from 0 to {}, got {value}",
                            u32::MAX
                        )
                    })?,
            },
            fail_rate: number(&fields, "fail_rate", 0.0, 1.0)?,
            mode,
        })
    }

    /// How the order names itself in logs and errors: `order 17`, or `message` when the body has no `order`.
    fn label(&self) -> String {
        match &self.order {
            Some(order) => format!("order {order}"),
            None => "message".to_owned(),
        }
    }
}

/// Optional numeric key `key` in `[min, max]` (default 0).
fn number(fields: &Map<String, Value>, key: &str, min: f64, max: f64) -> Result<f64, String> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(0.0),
        Some(value) => match value.as_f64() {
            Some(x) if (min..=max).contains(&x) => Ok(x),
            _ => Err(format!(
                "{key} must be a number from {min} to {max}, got {value}"
            )),
        },
    }
}

/// The first 80 characters of a body, for error messages.
fn excerpt(body: &str) -> String {
    match body.char_indices().nth(80) {
        Some((end, _)) => format!("{:?}…", &body[..end]),
        None => format!("{body:?}"),
    }
}

/// A uniform draw in [0, 1) from WASI `random_get` (53 random bits).
fn draw() -> Result<f64, String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| format!("random_get failed: {e}"))?;
    Ok((u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64)
}

/// Processes one record: `Err` holds why it failed. Waits `work_ms` unless the record is malformed or poison.
fn process(message: &SqsMessage, order: &Order, ctx: &Context) -> Result<(), String> {
    if order.poison {
        return Err("poison message".to_owned());
    }
    if order.work_ms > 0.0 {
        ctx.wait(Duration::from_secs_f64(order.work_ms / 1000.0));
    }
    let receive = message.receive_count();
    if receive <= order.fail_receives {
        return Err(format!(
            "transient failure on receive {receive} (fail_receives {})",
            order.fail_receives
        ));
    }
    if order.fail_rate > 0.0 {
        let draw = draw()?;
        if draw < order.fail_rate {
            return Err(format!(
                "random failure: draw {draw:.4} < fail_rate {}",
                order.fail_rate
            ));
        }
    }
    Ok(())
}

fn sqs_worker(event: SqsEvent, ctx: &Context) -> Result<SqsBatchResponse, Error> {
    let orders: Vec<Result<Order, String>> = event
        .records
        .iter()
        .map(|m| Order::from_body(&m.body))
        .collect();
    let mode = if orders
        .iter()
        .any(|o| matches!(o, Ok(order) if order.mode == Mode::WholeBatch))
    {
        Mode::WholeBatch
    } else {
        Mode::Partial
    };
    let total = event.records.len();
    let mut response = SqsBatchResponse::success();
    for (index, (message, order)) in event.records.iter().zip(&orders).enumerate() {
        let (label, outcome) = match order {
            Ok(order) => (order.label(), process(message, order, ctx)),
            Err(reason) => ("message".to_owned(), Err(reason.clone())),
        };
        let prefix = format!(
            "{label} {} receive {}",
            message.message_id,
            message.receive_count()
        );
        match outcome {
            Ok(()) => println!("{prefix}: ok"),
            Err(reason) => {
                println!("{prefix}: failed: {reason}");
                if mode == Mode::WholeBatch {
                    println!(
                        "batch of {total} (whole-batch): failed at record {}",
                        index + 1
                    );
                    return Err(Error::new(
                        "BatchFailed",
                        format!(
                            "message {} ({label}) failed: {reason}; {} of {total} records processed",
                            message.message_id,
                            index + 1
                        ),
                    ));
                }
                response.add_failure(message.message_id.clone());
            }
        }
    }
    let failed = response.batch_item_failures.len();
    let mode_name = match mode {
        Mode::Partial => "partial",
        Mode::WholeBatch => "whole-batch",
    };
    println!(
        "batch of {total} ({mode_name}): {} ok, {failed} failed",
        total - failed
    );
    Ok(response)
}

lambda_sim_sdk::handler!(sqs_worker);

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
