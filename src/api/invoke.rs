//! `POST /2015-03-31/functions/{FunctionName}/invocations`: Lambda's Invoke.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;

use super::{ApiError, parse_function_name};
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
    let limit = if invocation_type == "Event" {
        ASYNC_PAYLOAD_MAX_BYTES
    } else {
        SYNC_PAYLOAD_MAX_BYTES
    };
    // Read at most limit + 1 bytes: an oversized body is refused without being buffered whole.
    let payload = match axum::body::to_bytes(body, limit + 1).await {
        Ok(b) if b.len() <= limit => b,
        Ok(_) | Err(_) if invocation_type == "Event" => {
            return ApiError::too_large(format!(
                "Request payload is too large for the Event invocation type (limit {limit} bytes)"
            ))
            .into_response();
        }
        Ok(_) | Err(_) => {
            return ApiError::too_large(format!(
                "Request must be smaller than {limit} bytes for the InvokeFunction operation"
            ))
            .into_response();
        }
    };
    let payload = if payload.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        payload
    };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        return ApiError::invalid_content(e.to_string()).into_response();
    }
    match invocation_type {
        "DryRun" => return StatusCode::NO_CONTENT.into_response(),
        "Event" => {
            // Accepted at once into the function's async queue: attempts, retries and destinations follow.
            service.enqueue_event(f, payload);
            let mut r = StatusCode::ACCEPTED.into_response();
            r.headers_mut().insert(
                "X-Amz-Executed-Version",
                HeaderValue::from_static("$LATEST"),
            );
            return r;
        }
        _ => {}
    }
    let tail = header("X-Amz-Log-Type") == "Tail";
    match service.invoke(f, payload).await {
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
