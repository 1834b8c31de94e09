//! Lambda's API error responses: status, `x-amzn-ErrorType` header (what AWS SDKs read first) and JSON body.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error response as the Lambda API sends it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error_type: &'static str,
    pub body: serde_json::Value,
    pub retry_after: Option<u32>,
}

/// The ARN lambda-sim gives a function (account 123456789012, us-east-1).
pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")
}

impl ApiError {
    fn user(
        status: StatusCode,
        error_type: &'static str,
        message_key: &str,
        message: String,
    ) -> Self {
        ApiError {
            status,
            error_type,
            body: serde_json::json!({ "Type": "User", message_key: message }),
            retry_after: None,
        }
    }

    /// 404: observed body uses a capital-M `Message`.
    pub fn not_found(name: &str, qualifier: Option<&str>) -> Self {
        let arn = match qualifier {
            Some(q) => format!("{}:{q}", function_arn(name)),
            None => function_arn(name),
        };
        Self::user(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            "Message",
            format!("Function not found: {arn}"),
        )
    }

    pub fn invalid_content(detail: String) -> Self {
        Self::user(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            "message",
            format!("Could not parse request body into json: {detail}"),
        )
    }

    /// 400 `InvalidRequestContentException` with `message` as it is (a header or a body that is not JSON).
    pub fn invalid_request(message: String) -> Self {
        Self::user(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            "message",
            message,
        )
    }

    /// 408: the request body did not arrive within `serve`'s body read timeout.
    pub fn request_timeout(message: String) -> Self {
        Self::user(
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeoutException",
            "message",
            message,
        )
    }

    pub fn invalid_parameter(message: String) -> Self {
        Self::user(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            "message",
            message,
        )
    }

    pub fn too_large(message: String) -> Self {
        Self::user(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            "message",
            message,
        )
    }

    pub fn throttled(reason: &str) -> Self {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            error_type: "TooManyRequestsException",
            body: serde_json::json!({ "Reason": reason, "Type": "User", "message": "Rate Exceeded." }),
            retry_after: Some(1),
        }
    }

    pub fn service(message: String) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error_type: "ServiceException",
            body: serde_json::json!({ "Type": "Service", "Message": message }),
            retry_after: None,
        }
    }

    pub fn unknown_operation(method: &str, path: &str) -> Self {
        Self::user(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "message",
            format!("lambda-sim does not implement {method} {path}"),
        )
    }

    pub fn event_invoke_config_not_found(name: &str) -> Self {
        Self::user(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            "Message",
            format!(
                "The function {}:$LATEST doesn't have an EventInvokeConfig",
                function_arn(name)
            ),
        )
    }

    pub fn provisioned_not_found(name: &str) -> Self {
        Self::user(
            StatusCode::NOT_FOUND,
            "ProvisionedConcurrencyConfigNotFoundException",
            "message",
            format!(
                "No Provisioned Concurrency Config found for this function: {}",
                function_arn(name)
            ),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            "x-amzn-ErrorType",
            HeaderValue::from_static(self.error_type),
        );
        if let Some(s) = self.retry_after {
            headers.insert("Retry-After", HeaderValue::from(s));
        }
        response
    }
}
