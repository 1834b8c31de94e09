//! The Lambda HTTP API over the real-time driver: Invoke, a control-plane subset, and `/metrics`, so the AWS CLI,
//! boto3 and load generators work against lambda-sim unchanged.

mod control;
mod errors;
mod invoke;
mod prometheus;
mod server;

use axum::Router;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::HeaderValue;
use axum::response::Response;
use axum::routing::{get, post, put};

pub use errors::{ApiError, function_arn};
pub use server::{BodyTimeout, HttpTimeouts};

use crate::live::LiveService;
use crate::model::{FunctionId, RequestId};

/// The header every Lambda API response carries (an SDK's `ResponseMetadata.RequestId`).
const REQUEST_ID: &str = "x-amzn-RequestId";

fn request_id_value(id: RequestId) -> HeaderValue {
    // A hyphenated UUID is always a valid header value.
    HeaderValue::from_str(&id.to_string()).unwrap_or(HeaderValue::from_static("0"))
}

/// Gives a response that has no request id yet (everything but a run invocation) a fresh one.
async fn with_request_id(State(service): State<LiveService>, mut response: Response) -> Response {
    if !response.headers().contains_key(REQUEST_ID) {
        let id = request_id_value(service.new_request_id());
        response.headers_mut().insert(REQUEST_ID, id);
    }
    response
}

/// What the API's handlers share: the service, and the qualifier each function's provisioned concurrency was last
/// put with (lambda-sim keeps one configuration per function; see `control`).
#[derive(Clone)]
pub struct ApiState {
    service: LiveService,
    qualifiers: Arc<Mutex<BTreeMap<FunctionId, String>>>,
}

impl ApiState {
    fn qualifier(&self, f: FunctionId) -> Option<String> {
        self.lock().get(&f).cloned()
    }

    fn set_qualifier(&self, f: FunctionId, qualifier: String) {
        self.lock().insert(f, qualifier);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<FunctionId, String>> {
        self.qualifiers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl FromRef<ApiState> for LiveService {
    fn from_ref(api: &ApiState) -> LiveService {
        api.service.clone()
    }
}

/// The router of every supported operation; any other answers `UnknownOperationException`.
pub fn router(service: LiveService) -> Router {
    let unknown = |method: axum::http::Method, uri: axum::http::Uri| async move {
        ApiError::unknown_operation(method.as_str(), uri.path())
    };
    let state = ApiState {
        service: service.clone(),
        qualifiers: Arc::default(),
    };
    Router::new()
        .route(
            "/2015-03-31/functions/{name}/invocations",
            post(invoke::invoke),
        )
        .route("/2015-03-31/functions/{name}", get(control::get_function))
        .route(
            "/2015-03-31/functions/{name}/configuration",
            get(control::get_function_configuration),
        )
        .route(
            "/2019-09-25/functions/{name}/event-invoke-config",
            get(control::get_event_invoke_config),
        )
        .route(
            "/2019-09-25/functions/{name}/event-invoke-config/list",
            get(control::list_event_invoke_configs),
        )
        .route("/2015-03-31/functions/", get(control::list_functions))
        .route("/2015-03-31/functions", get(control::list_functions))
        .route(
            "/2016-08-19/account-settings/",
            get(control::account_settings),
        )
        .route(
            "/2016-08-19/account-settings",
            get(control::account_settings),
        )
        .route(
            "/2017-10-31/functions/{name}/concurrency",
            put(control::put_concurrency).delete(control::delete_concurrency),
        )
        .route(
            "/2019-09-30/functions/{name}/concurrency",
            get(control::get_concurrency),
        )
        .route(
            "/2019-09-30/functions/{name}/provisioned-concurrency",
            put(control::put_provisioned)
                .get(control::get_provisioned)
                .delete(control::delete_provisioned),
        )
        .route("/metrics", get(prometheus::metrics))
        .fallback(unknown)
        // A known path with a method lambda-sim does not serve is an operation it does not implement either.
        .method_not_allowed_fallback(unknown)
        // Bodies are read with their own limits (Invoke's 6 MB), never whole before that.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::map_response_with_state(
            service.clone(),
            with_request_id,
        ))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves; then stops accepting, lets every connection finish the
/// request it is serving, and drops the connections still open when `force` resolves (see [`server`]).
pub async fn serve(
    service: LiveService,
    listener: tokio::net::TcpListener,
    timeouts: HttpTimeouts,
    shutdown: impl std::future::Future<Output = ()>,
    force: impl std::future::Future<Output = ()>,
) {
    server::serve_router(router(service), listener, timeouts, shutdown, force).await;
}

/// Splits an Invoke `FunctionName` (name, `name:qualifier`, full or partial ARN) into name and qualifier.
pub fn parse_function_name(raw: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name] => (name.to_string(), None),
        ["arn", _, "lambda", _, _, "function", name, q] => (name.to_string(), Some(q.to_string())),
        [_, "function", name] => (name.to_string(), None),
        [_, "function", name, q] => (name.to_string(), Some(q.to_string())),
        [name, q] => (name.to_string(), Some(q.to_string())),
        _ => (raw.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_function_name;

    #[test]
    fn function_names_qualifiers_and_arns() {
        let p = |s: &str| parse_function_name(s);
        assert_eq!(p("hello"), ("hello".into(), None));
        assert_eq!(p("hello:live"), ("hello".into(), Some("live".into())));
        assert_eq!(
            p("arn:aws:lambda:us-east-1:123456789012:function:hello"),
            ("hello".into(), None)
        );
        assert_eq!(
            p("arn:aws:lambda:us-east-1:123456789012:function:hello:7"),
            ("hello".into(), Some("7".into()))
        );
        assert_eq!(p("123456789012:function:hello"), ("hello".into(), None));
    }
}
