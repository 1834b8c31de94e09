//! `[[service]]` tables: a valid file with both connection models and defaults, every mistake with its position,
//! and variant overrides that swap the connection model.

use std::path::Path;

use super::{HEADER, PATH, assert_err, ok};
use crate::model::services::{ConnectionModel, DEFAULT_BORROW_TIMEOUT_NS};
use crate::scenario::Distribution;

#[test]
fn services_parse_with_defaults() {
    let s = ok(&format!(
        r#"{HEADER}
[[service]]
name = "db"
latency_ms = {{ distribution = "constant", value = 20 }}
connections = {{ model = "per_sandbox", limit = 100 }}

[[service]]
name = "proxy-db"
latency_ms = {{ distribution = "exponential", mean = 5 }}
error_rate = 0.01
connections = {{ model = "proxy", pool = 20, max_client_connections = 500, borrow_timeout = "30s" }}

[[service]]
name = "api"
latency_ms = {{ distribution = "constant", value = 80 }}
connections = {{ model = "proxy", pool = 5 }}

[[service]]
name = "http"
latency_ms = {{ distribution = "constant", value = 1 }}
"#
    ));
    let names: Vec<&str> = s.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["db", "proxy-db", "api", "http"]);
    assert_eq!(
        s.services[0].connections,
        Some(ConnectionModel::PerSandbox { limit: 100 })
    );
    assert_eq!(
        s.services[0].latency_ms,
        Distribution::Constant { value: 20.0 }
    );
    assert_eq!(s.services[0].error_rate, 0.0);
    assert_eq!(
        s.services[1].connections,
        Some(ConnectionModel::Proxy {
            pool: 20,
            max_client_connections: Some(500),
            borrow_timeout_ns: 30_000_000_000
        })
    );
    assert_eq!(s.services[1].error_rate, 0.01);
    assert_eq!(
        s.services[2].connections,
        Some(ConnectionModel::Proxy {
            pool: 5,
            max_client_connections: None,
            borrow_timeout_ns: DEFAULT_BORROW_TIMEOUT_NS
        })
    );
    assert_eq!(s.services[3].connections, None);
}

#[test]
fn service_mistakes_are_positioned() {
    let latency = r#"latency_ms = { distribution = "constant", value = 1 }"#;
    let cases: &[(&str, &str, &str)] = &[
        (
            "[[service]]\nlatency_ms = { distribution = \"constant\", value = 1 }",
            "[[service]]",
            "service: name is required",
        ),
        (
            "[[service]]\nname = \"d b\"",
            "\"d b\"",
            "service name \"d b\" must be 1–64 characters of A–Z, a–z, 0–9, - and _",
        ),
        (
            "[[service]]\nname = \"db\"\nerror_rate = 0.5",
            "[[service]]",
            "service \"db\": latency_ms is required, e.g. { distribution = \"lognormal\", median = 8, sigma = 0.5 }",
        ),
        (
            &format!("[[service]]\nname = \"db\"\n{latency}\nerror_rate = 1.5"),
            "1.5",
            "service \"db\": error_rate = 1.5 is outside the allowed range 0–1",
        ),
        (
            &format!(
                "[[service]]\nname = \"db\"\n{latency}\nconnections = {{ model = \"pooled\" }}"
            ),
            "\"pooled\"",
            "service \"db\": connections.model = \"pooled\" is not one of \"per_sandbox\", \"proxy\"",
        ),
        (
            &format!(
                "[[service]]\nname = \"db\"\n{latency}\nconnections = {{ model = \"per_sandbox\", limit = 0 }}"
            ),
            "0 }",
            "service \"db\": connections.limit = 0 is outside the allowed range 1–1000000 connections",
        ),
        (
            &format!(
                "[[service]]\nname = \"db\"\n{latency}\nconnections = {{ model = \"per_sandbox\", pool = 5, limit = 1 }}"
            ),
            "5,",
            "service \"db\": connections.pool does not apply to model \"per_sandbox\"",
        ),
        (
            &format!(
                "[[service]]\nname = \"db\"\n{latency}\nconnections = {{ model = \"proxy\" }}"
            ),
            "{ model = \"proxy\" }",
            "service \"db\": connections.pool is required with model \"proxy\" (database connections the proxy shares)",
        ),
        (
            &format!(
                "[[service]]\nname = \"db\"\n{latency}\nconnections = {{ model = \"proxy\", pool = 2, borrow_timeout = \"2h\" }}"
            ),
            "\"2h\"",
            "service \"db\": connections.borrow_timeout = \"2h\" is outside the allowed range 0 s–3,600 s (0 = wait until the invocation's deadline)",
        ),
        (
            &format!(
                "[[service]]\nname = \"db\"\n{latency}\n\n[[service]]\nname = \"db\"\n{latency}"
            ),
            "",
            "",
        ),
    ];
    for (extra, needle, message) in cases {
        let text = format!("{HEADER}\n{extra}\n");
        if message.is_empty() {
            // A duplicate points at the second name.
            let e = super::err(&text);
            assert_eq!(
                e.message, "service \"db\" is declared twice (first at line 10)",
                "{e}"
            );
            assert_eq!((e.line, e.column), (14, 8), "{e}");
            continue;
        }
        assert_err(&text, needle, message);
    }
}

#[test]
fn a_variant_swaps_the_connection_model() {
    let text = format!(
        r#"{HEADER}
[[service]]
name = "db"
latency_ms = {{ distribution = "constant", value = 20 }}
connections = {{ model = "per_sandbox", limit = 100 }}

[[variant]]
name = "proxy"
service.db.connections = {{ model = "proxy", pool = 20 }}

[[variant]]
name = "slower"
service.db.latency_ms = {{ distribution = "constant", value = 40 }}

[[variant]]
name = "typo"
service.cache.error_rate = 0.1
"#
    );
    let e = crate::scenario::parse_file(&text, Path::new(PATH)).expect_err("typo");
    assert!(
        e.message
            .contains("service \"cache\" is not declared (declared: db)"),
        "{e}"
    );
    let text = text.replace(
        "[[variant]]\nname = \"typo\"\nservice.cache.error_rate = 0.1\n",
        "",
    );
    let file =
        crate::scenario::parse_file(&text, Path::new(PATH)).unwrap_or_else(|e| panic!("{e}"));
    let proxy = &file.variants[0].scenario.services[0];
    // The model key names the table's kind: the whole table is replaced (no stray `limit`).
    assert_eq!(
        proxy.connections,
        Some(ConnectionModel::Proxy {
            pool: 20,
            max_client_connections: None,
            borrow_timeout_ns: DEFAULT_BORROW_TIMEOUT_NS
        })
    );
    let slower = &file.variants[1].scenario.services[0];
    assert_eq!(slower.latency_ms, Distribution::Constant { value: 40.0 });
    assert_eq!(
        slower.connections,
        Some(ConnectionModel::PerSandbox { limit: 100 })
    );
}
