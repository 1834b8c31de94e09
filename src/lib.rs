//! lambda-sim: a local AWS-Lambda-like execution simulator.
//!
//! Handler modules (WebAssembly, ABI in `docs/abi.md`) run in pooled wasmtime [`sandbox`]es under Lambda's rules.

pub mod api;
pub mod cli;
pub mod cpu;
pub mod deploy;
pub mod event_shapes;
pub mod exec;
pub mod guest;
pub mod invoke;
pub mod lab;
pub mod limits;
pub mod live;
pub mod logfmt;
pub mod metrics;
pub mod model;
pub mod report;
pub mod sandbox;
pub mod scenario;
pub mod sim;
pub mod sources;
pub mod traffic;
