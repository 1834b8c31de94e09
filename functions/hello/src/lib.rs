//! `hello`: the smallest useful handler — JSON in, JSON out, one log line.
//!
//! Event: `{"name": "x"}` (`name` optional, default `"world"`).
//! Response: `{"message": "Hello, x!"}`. Logs `greeting x` to stdout.

use lambda_sim_sdk::{Context, Error};
use serde::{Deserialize, Serialize};

/// The event: who to greet.
#[derive(Debug, Deserialize)]
struct Request {
    #[serde(default = "default_name")]
    name: String,
}

fn default_name() -> String {
    "world".to_owned()
}

/// The response.
#[derive(Debug, Serialize)]
struct Response {
    message: String,
}

fn hello(event: Request, _ctx: &Context) -> Result<Response, Error> {
    println!("greeting {}", event.name);
    Ok(Response {
        message: format!("Hello, {}!", event.name),
    })
}

lambda_sim_sdk::handler!(hello);

// Native only: the tests run against the SDK's stand-in host (`lambda_sim_sdk::testing`).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use lambda_sim_sdk::{run, testing};
    use serde_json::json;

    #[test]
    fn greets_by_name() {
        let inv = testing::invoke(br#"{"name":"x"}"#, || run(hello));
        assert_eq!(inv.json().unwrap(), json!({"message": "Hello, x!"}));
    }

    #[test]
    fn defaults_to_world() {
        let inv = testing::invoke(b"{}", || run(hello));
        assert_eq!(inv.json().unwrap(), json!({"message": "Hello, world!"}));
    }

    #[test]
    fn wrong_type_is_an_unmarshal_error() {
        let inv = testing::invoke(br#"{"name":1}"#, || run(hello));
        assert_eq!(inv.status, 1);
        assert_eq!(inv.error.unwrap().error_type, "Runtime.UnmarshalError");
    }
}
