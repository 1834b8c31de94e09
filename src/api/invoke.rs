//! `POST /2015-03-31/functions/{FunctionName}/invocations`: Lambda's Invoke.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;

use super::{ApiError, REQUEST_ID, parse_function_name, request_id_value};
use crate::lifecycle::NotRun;
use crate::limits::{ASYNC_PAYLOAD_MAX_BYTES, SYNC_PAYLOAD_MAX_BYTES};
use crate::live::LiveService;

/// `X-Amz-Log-Result` carries the last 4 KB of the invocation's log.
const LOG_TAIL_BYTES: usize = 4096;

pub async fn invoke(
    State(service): State<LiveService>,
    Path(raw_name): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (name, qualifier) = parse_function_name(&raw_name);
    let qualifier = qualifier.or_else(|| query.get("Qualifier").cloned());
    let Some(f) = service.function(&name) else {
        return ApiError::not_found(&name, qualifier.as_deref()).into_response();
    };
    let header = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).unwrap_or("");
    let invocation_type = match header("X-Amz-Invocation-Type") {
        "" | "RequestResponse" => "RequestResponse",
        "Event" => "Event",
        "DryRun" => "DryRun",
        other => {
            return ApiError::invalid_parameter(format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            ))
            .into_response();
        }
    };
    let log_type = header("X-Amz-Log-Type");
    if !matches!(log_type, "" | "None" | "Tail") {
        return ApiError::invalid_parameter(format!(
            "1 validation error detected: Value '{log_type}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]"
        ))
        .into_response();
    }
    if let Some(e) = check_client_context(header("X-Amz-Client-Context")) {
        return e.into_response();
    }
    let payload = match read_payload(&headers, body, invocation_type == "Event").await {
        Ok(payload) => payload,
        Err(e) => return e.into_response(),
    };
    let payload = if payload.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        payload
    };
    if let Err(e) = std::str::from_utf8(&payload) {
        return ApiError::invalid_content(format!(
            "Invalid UTF-8 byte at offset {}",
            e.valid_up_to()
        ))
        .into_response();
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        return ApiError::invalid_content(e.to_string()).into_response();
    }
    match invocation_type {
        "DryRun" => return StatusCode::NO_CONTENT.into_response(),
        "Event" => {
            // Accepted at once into the function's async queue: attempts, retries and destinations follow.
            let id = service.enqueue_event(f, payload);
            let mut r = StatusCode::ACCEPTED.into_response();
            let h = r.headers_mut();
            h.insert(
                "X-Amz-Executed-Version",
                HeaderValue::from_static("$LATEST"),
            );
            h.insert(REQUEST_ID, request_id_value(id));
            return r;
        }
        _ => {}
    }
    let tail = log_type == "Tail";
    // The invocation runs on a task of its own: a client that hangs up, or a connection dropped at shutdown,
    // never cuts it short (it still ends in exactly one recorded outcome).
    let invocation = {
        let service = service.clone();
        tokio::spawn(async move { service.invoke(f, payload).await })
    };
    let result = match invocation.await {
        Ok(result) => result,
        Err(e) => Err(NotRun::SystemError(format!(
            "the invocation's task failed: {e}"
        ))),
    };
    match result {
        Err(NotRun::Throttled { reason, .. }) => {
            ApiError::throttled(reason.as_str()).into_response()
        }
        Err(NotRun::SystemError(message)) => ApiError::service(message).into_response(),
        Ok(record) => {
            let report = &record.report;
            let log = if tail {
                record.log_lines(service.scenario().functions[f].memory_mb)
            } else {
                String::new()
            };
            let mut r = (StatusCode::OK, report.body()).into_response();
            let h = r.headers_mut();
            h.insert("Content-Type", HeaderValue::from_static("application/json"));
            // The id the handler saw and its log lines carry.
            h.insert(REQUEST_ID, request_id_value(record.request_id));
            h.insert(
                "X-Amz-Executed-Version",
                HeaderValue::from_static("$LATEST"),
            );
            if report.error.is_some() {
                h.insert(
                    "X-Amz-Function-Error",
                    HeaderValue::from_static("Unhandled"),
                );
            }
            if tail {
                let bytes = log.as_bytes();
                let last = &bytes[bytes.len().saturating_sub(LOG_TAIL_BYTES)..];
                let encoded = base64::engine::general_purpose::STANDARD.encode(last);
                if let Ok(v) = HeaderValue::from_str(&encoded) {
                    h.insert("X-Amz-Log-Result", v);
                }
            }
            r
        }
    }
}

/// `X-Amz-Client-Context`: base64 of a JSON object, at most 3,583 bytes encoded (Lambda's limit).
fn check_client_context(value: &str) -> Option<ApiError> {
    const MAX_BYTES: usize = 3583;
    if value.is_empty() {
        return None;
    }
    let valid = value.len() <= MAX_BYTES
        && base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()
            .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
            .is_some_and(|v| v.is_object());
    (!valid).then(|| {
        ApiError::invalid_request(format!(
            "Client context must be a valid Base64-encoded JSON object (at most {MAX_BYTES} bytes encoded)."
        ))
    })
}

/// Reads an Invoke body within its limit (6 MB synchronous, 1 MB `Event`), never buffering more than the limit:
/// a `Content-Length` above it is refused before any body is read. A body cut short or badly chunked is a 400, one
/// that does not arrive in time a 408.
async fn read_payload(headers: &HeaderMap, body: Body, event: bool) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    let limit = if event {
        ASYNC_PAYLOAD_MAX_BYTES
    } else {
        SYNC_PAYLOAD_MAX_BYTES
    };
    let too_large = || {
        if event {
            ApiError::too_large(format!(
                "Request payload is too large for the Event invocation type (limit {limit} bytes)"
            ))
        } else {
            ApiError::too_large(format!(
                "Request must be smaller than {limit} bytes for the InvokeFunction operation"
            ))
        }
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => {
            let e: &(dyn std::error::Error + 'static) = &*e;
            if find::<http_body_util::LengthLimitError>(e).is_some() {
                Err(too_large())
            } else if let Some(t) = find::<super::BodyTimeout>(e) {
                Err(ApiError::request_timeout(t.to_string()))
            } else {
                Err(ApiError::invalid_request(format!(
                    "Could not read the request body: {}",
                    crate::sandbox::error_chain(e)
                )))
            }
        }
    }
}

/// The first error of type `T` in `e`'s source chain.
fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        next = e.source();
    }
    None
}
