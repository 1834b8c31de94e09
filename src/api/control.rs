//! The control-plane subset: GetFunction, GetFunctionConfiguration, ListFunctions, GetAccountSettings, reserved
//! concurrency, provisioned concurrency (get, put, delete, list) and the asynchronous invocation configuration (get,
//! list), with Lambda's JSON shapes and validation errors.
//!
//! Provisioned concurrency on AWS belongs to a published version or alias; lambda-sim keeps one configuration per
//! function, whatever the `Qualifier`, and applies it to every invocation of the function. Listed, it carries the
//! qualifier it was last put with (`live` for one set in the scenario).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{ApiError, ApiState, function_arn, parse_function_name};
use crate::live::LiveService;
use crate::scenario::Architecture;

/// The alias a scenario's `provisioned_concurrency` is listed under (it names none).
const SCENARIO_ALIAS: &str = "live";

fn lookup(service: &LiveService, raw: &str) -> Result<(usize, String), ApiError> {
    let (name, qualifier) = parse_function_name(raw);
    service
        .function(&name)
        .map(|f| (f, name.clone()))
        .ok_or_else(|| ApiError::not_found(&name, qualifier.as_deref()))
}

fn configuration(service: &LiveService, f: usize) -> Value {
    let spec = &service.scenario().functions[f];
    let info = service.deployment().codes[f].info();
    let mut config = json!({
        "FunctionName": spec.name,
        "FunctionArn": function_arn(&spec.name),
        "Runtime": "provided.al2023",
        "Role": "arn:aws:iam::123456789012:role/lambda-sim",
        "Handler": "handle",
        "CodeSize": info.download_bytes(),
        "Description": format!("lambda-sim: {}", spec.code.display()),
        "Timeout": (spec.timeout_ns / 1_000_000_000).max(1),
        "MemorySize": spec.memory_mb,
        "LastModified": "2026-01-01T00:00:00.000+0000",
        "CodeSha256": base64::engine::general_purpose::STANDARD.encode(info.sha256),
        "Version": "$LATEST",
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": [match spec.architecture { Architecture::X86_64 => "x86_64", Architecture::Arm64 => "arm64" }],
        "EphemeralStorage": { "Size": 512 },
    });
    if !spec.environment.is_empty() {
        config["Environment"] = json!({ "Variables": spec.environment });
    }
    config
}

pub async fn get_function(State(service): State<LiveService>, Path(raw): Path<String>) -> Response {
    let (f, _) = match lookup(&service, &raw) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let mut body = json!({
        "Configuration": configuration(&service, f),
        "Code": { "RepositoryType": "S3", "Location": format!("file://{}", service.scenario().functions[f].code.display()) },
    });
    if let Some(r) = service.with_model(|m, _| m.reserved(f)) {
        body["Concurrency"] = json!({ "ReservedConcurrentExecutions": r });
    }
    Json(body).into_response()
}

/// `GetFunctionConfiguration`: the function's configuration, as in GetFunction's `Configuration`.
pub async fn get_function_configuration(
    State(service): State<LiveService>,
    Path(raw): Path<String>,
) -> Response {
    match lookup(&service, &raw) {
        Ok((f, _)) => Json(configuration(&service, f)).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn list_functions(State(service): State<LiveService>) -> Response {
    let functions: Vec<Value> = (0..service.scenario().functions.len())
        .map(|f| configuration(&service, f))
        .collect();
    Json(json!({ "Functions": functions })).into_response()
}

pub async fn account_settings(State(service): State<LiveService>) -> Response {
    let (limit, unreserved) = service.with_model(|m, _| m.account_concurrency());
    let code: u64 = service
        .deployment()
        .codes
        .iter()
        .map(|c| c.info().download_bytes())
        .sum();
    Json(json!({
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800u64,
            "CodeSizeUnzipped": 262_144_000,
            "CodeSizeZipped": 52_428_800,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": unreserved,
        },
        "AccountUsage": { "TotalCodeSize": code, "FunctionCount": service.scenario().functions.len() },
    }))
    .into_response()
}

fn body_u32(body: &[u8], key: &str) -> Result<u32, ApiError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::invalid_content(e.to_string()))?;
    v.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| ApiError::invalid_parameter(format!("{key} must be a non-negative integer")))
}

pub async fn put_concurrency(
    State(service): State<LiveService>,
    Path(raw): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let result = (|| {
        let (f, _) = lookup(&service, &raw)?;
        let n = body_u32(&body, "ReservedConcurrentExecutions")?;
        service
            .with_model(|m, _| m.set_reserved(f, Some(n)))
            .map_err(|e| ApiError::invalid_parameter(e.to_string()))?;
        Ok::<_, ApiError>(Json(json!({ "ReservedConcurrentExecutions": n })).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

pub async fn get_concurrency(
    State(service): State<LiveService>,
    Path(raw): Path<String>,
) -> Response {
    match lookup(&service, &raw) {
        Ok((f, _)) => match service.with_model(|m, _| m.reserved(f)) {
            Some(r) => Json(json!({ "ReservedConcurrentExecutions": r })).into_response(),
            None => Json(json!({})).into_response(),
        },
        Err(e) => e.into_response(),
    }
}

pub async fn delete_concurrency(
    State(service): State<LiveService>,
    Path(raw): Path<String>,
) -> Response {
    match lookup(&service, &raw) {
        Ok((f, _)) => match service.with_model(|m, _| m.set_reserved(f, None)) {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => ApiError::invalid_parameter(e.to_string()).into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// The qualifier the configuration of `f` is listed under.
fn provisioned_qualifier(api: &ApiState, f: usize) -> String {
    api.qualifier(f)
        .unwrap_or_else(|| SCENARIO_ALIAS.to_string())
}

fn provisioned_body(service: &LiveService, f: usize) -> Value {
    let (requested, ready, status) = service.with_model(|m, _| m.provisioned_status(f));
    json!({
        "RequestedProvisionedConcurrentExecutions": requested,
        "AvailableProvisionedConcurrentExecutions": ready,
        "AllocatedProvisionedConcurrentExecutions": ready,
        "Status": status.as_str(),
        "LastModified": "2026-01-01T00:00:00+0000",
    })
}

/// The `Qualifier` a provisioned concurrency call needs (a version or alias, not `$LATEST`).
fn qualifier_required(query: &BTreeMap<String, String>) -> Result<String, ApiError> {
    match query.get("Qualifier") {
        Some(q) if !q.is_empty() && q != "$LATEST" => Ok(q.clone()),
        _ => Err(ApiError::invalid_parameter(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions: give a Qualifier (a version or alias)".into(),
        )),
    }
}

pub async fn put_provisioned(
    State(api): State<ApiState>,
    Path(raw): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let service = &api.service;
    let result = (|| {
        let (f, _) = lookup(service, &raw)?;
        let qualifier = qualifier_required(&query)?;
        let n = body_u32(&body, "ProvisionedConcurrentExecutions")?;
        if n == 0 {
            return Err(ApiError::invalid_parameter(
                "ProvisionedConcurrentExecutions must be at least 1".into(),
            ));
        }
        service
            .with_model(|m, now| m.set_provisioned(now, f, n))
            .map_err(|e| ApiError::invalid_parameter(e.to_string()))?;
        api.set_qualifier(f, qualifier);
        Ok::<_, ApiError>(
            (StatusCode::ACCEPTED, Json(provisioned_body(service, f))).into_response(),
        )
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GetProvisionedConcurrencyConfig`, or with `List=ALL` `ListProvisionedConcurrencyConfigs` (one path, as on AWS).
pub async fn get_provisioned(
    State(api): State<ApiState>,
    Path(raw): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let service = &api.service;
    if query.get("List").is_some_and(|l| l == "ALL") {
        return list_provisioned(&api, &raw).unwrap_or_else(IntoResponse::into_response);
    }
    let result = (|| {
        let (f, name) = lookup(service, &raw)?;
        qualifier_required(&query)?;
        if service.with_model(|m, _| m.provisioned_status(f)).0 == 0 {
            return Err(ApiError::provisioned_not_found(&name));
        }
        Ok::<_, ApiError>(Json(provisioned_body(service, f)).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `ListProvisionedConcurrencyConfigs`: the function's configuration, if it has one, under its qualifier.
fn list_provisioned(api: &ApiState, raw: &str) -> Result<Response, ApiError> {
    let (f, name) = lookup(&api.service, raw)?;
    let mut configs = Vec::new();
    if api.service.with_model(|m, _| m.provisioned_status(f)).0 > 0 {
        let mut config = provisioned_body(&api.service, f);
        config["FunctionArn"] = json!(format!(
            "{}:{}",
            function_arn(&name),
            provisioned_qualifier(api, f)
        ));
        configs.push(config);
    }
    Ok(Json(json!({ "ProvisionedConcurrencyConfigs": configs })).into_response())
}

/// The function's `EventInvokeConfig` as Lambda shows it, if it has one (a setting away from the defaults).
/// Destinations are lambda-sim's labels (the files records go to), not ARNs.
fn event_invoke_config(service: &LiveService, f: usize) -> Option<Value> {
    let spec = &service.scenario().functions[f];
    let c = &spec.event_invoke_config;
    let defaults = crate::scenario::EventInvokeConfig::default();
    if *c == defaults {
        return None;
    }
    let destination = |d: &Option<String>| match d {
        Some(label) => json!({ "Destination": label }),
        None => json!({}),
    };
    Some(json!({
        "LastModified": 1_767_225_600.0,
        "FunctionArn": format!("{}:$LATEST", function_arn(&spec.name)),
        "MaximumRetryAttempts": c.maximum_retry_attempts,
        "MaximumEventAgeInSeconds": c.maximum_event_age_ns / 1_000_000_000,
        "DestinationConfig": {
            "OnSuccess": destination(&c.on_success),
            "OnFailure": destination(&c.on_failure),
        },
    }))
}

/// `GetFunctionEventInvokeConfig`.
pub async fn get_event_invoke_config(
    State(service): State<LiveService>,
    Path(raw): Path<String>,
) -> Response {
    let result = (|| {
        let (f, name) = lookup(&service, &raw)?;
        event_invoke_config(&service, f)
            .map(|c| Json(c).into_response())
            .ok_or_else(|| ApiError::event_invoke_config_not_found(&name))
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `ListFunctionEventInvokeConfigs`.
pub async fn list_event_invoke_configs(
    State(service): State<LiveService>,
    Path(raw): Path<String>,
) -> Response {
    match lookup(&service, &raw) {
        Ok((f, _)) => {
            let configs: Vec<Value> = event_invoke_config(&service, f).into_iter().collect();
            Json(json!({ "FunctionEventInvokeConfigs": configs })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

pub async fn delete_provisioned(
    State(api): State<ApiState>,
    Path(raw): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let result = (|| {
        let (f, _) = lookup(&api.service, &raw)?;
        qualifier_required(&query)?;
        api.service
            .with_model(|m, now| m.set_provisioned(now, f, 0))
            .map_err(|e| ApiError::invalid_parameter(e.to_string()))?;
        Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}
