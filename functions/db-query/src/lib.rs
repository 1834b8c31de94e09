//! A handler that queries a database: each invocation makes `queries` calls (default 1) to the simulated service
//! `service` (default `"db"`), declared in the scenario with `[[service]]`. A refused connection fails the
//! invocation with `ServiceConnectionError` and the host's message; an error answer fails it with `ServiceError`.
//!
//! Event: `{ "queries": 2, "service": "db", "work_ms": 150 }` (all optional; `work_ms` is other work done after the
//! queries, as a simulated wait). Response: `{ "queries": 2 }`.

use lambda_sim_sdk::{Context, Error, service};
use serde::Deserialize;

#[derive(Deserialize)]
struct Event {
    #[serde(default = "one")]
    queries: u32,
    #[serde(default = "db")]
    service: String,
    #[serde(default)]
    work_ms: u64,
}

fn one() -> u32 {
    1
}

fn db() -> String {
    "db".to_owned()
}

fn query(event: Event, _ctx: &Context) -> Result<serde_json::Value, Error> {
    for _ in 0..event.queries {
        service::call(&event.service)?;
    }
    lambda_sim_sdk::wait(std::time::Duration::from_millis(event.work_ms));
    Ok(serde_json::json!({ "queries": event.queries }))
}

lambda_sim_sdk::handler!(query);

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_sim_sdk::{run, testing};

    #[test]
    fn makes_the_queries_asked_for() {
        let inv = testing::invoke(br#"{"queries":3,"service":"orders","work_ms":5}"#, || {
            run(query)
        });
        assert_eq!(inv.status, 0);
        assert_eq!(inv.waited, std::time::Duration::from_millis(5));
        assert_eq!(inv.service_calls, ["orders", "orders", "orders"]);
        assert_eq!(inv.json().ok(), Some(serde_json::json!({"queries": 3})));
    }
}
