//! lambda-sim: a local AWS-Lambda-like execution simulator.
//!
//! Handler modules (WebAssembly, ABI in `docs/abi.md`) run in pooled wasmtime [`sandbox`]es under Lambda's rules.

pub mod api;
pub mod cli;
pub mod deploy;
pub mod event_shapes;
pub mod guest;
pub mod lab;
pub mod lifecycle;
pub mod live;
pub mod logfmt;
pub mod metrics;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod sources;
pub mod traces;
pub mod traffic;

pub use lambda_sim_model as model;
pub use lambda_sim_model::{cpu, limits};
pub use lambda_sim_sandbox as sandbox;
