//! `lambda-sim invoke`: run a handler, one invocation after another, and print what Lambda would log. The function
//! is a scenario of its own (`Scenario::single_function`) run through the same lifecycle as any other: the first
//! invocation is a cold start, the next ones warm until a crash, timeout or out-of-memory error resets the
//! environment.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use bytes::Bytes;

use super::{CliError, EngineArgs};
use crate::lifecycle::{InvocationRecord, NotRun};
use crate::limits::{
    MEMORY_MB_DEFAULT, SYNC_PAYLOAD_MAX_BYTES, TIMEOUT_S_DEFAULT, check_memory_mb, check_timeout_s,
};
use crate::model::Outcome;
use crate::sandbox::error_chain;
use crate::scenario::{Scenario, SingleFunction};

#[derive(clap::Args, Debug)]
pub(crate) struct InvokeArgs {
    /// The function's code: a guest crate directory (e.g. functions/hello), a Python handler (a folder or a .py file,
    /// e.g. functions/python-hello), both built on demand, or a .wasm/.wat file.
    code: PathBuf,
    /// Lambda's Handler setting for Python code, module.function [default: lambda_function.lambda_handler, or
    /// <file>.lambda_handler for a .py file].
    #[arg(long)]
    handler: Option<String>,
    /// The event: inline JSON, or @FILE to read it from a file.
    #[arg(long, default_value = "{}")]
    payload: String,
    /// Memory size in MB (128–10240): caps linear memory and sets the CPU share.
    #[arg(long, default_value_t = MEMORY_MB_DEFAULT)]
    memory: u64,
    /// Timeout in seconds (1–900).
    #[arg(long, default_value_t = TIMEOUT_S_DEFAULT)]
    timeout: f64,
    /// How many times to invoke (the first is cold, the rest warm).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    repeat: u64,
    /// Virtual time (durations from fuel; deterministic) or real time (measured; waits really sleep).
    #[arg(long, value_enum, default_value_t = Mode::Virtual)]
    mode: Mode,
    /// Seed for request ids and the guest's randomness.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Snapshot restore (SnapStart analog): run init once now, snapshot the initialized module, and restore it on
    /// every cold start (the REPORT shows Restore Duration instead of Init Duration).
    #[arg(long)]
    snapshot: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Virtual,
    Realtime,
}

fn read_payload(arg: &str) -> Result<Bytes, CliError> {
    let (bytes, origin) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read(path).map_err(|e| CliError::usage(format!("--payload @{path}: {e}")))?,
            format!("--payload @{path}"),
        ),
        None => (arg.as_bytes().to_vec(), "--payload".to_string()),
    };
    if bytes.len() > SYNC_PAYLOAD_MAX_BYTES {
        return Err(CliError::usage(format!(
            "{origin}: {} bytes is larger than Lambda's {SYNC_PAYLOAD_MAX_BYTES}-byte limit for synchronous invocations",
            bytes.len()
        )));
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        return Err(CliError::usage(format!(
            "{origin}: not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        )));
    }
    Ok(Bytes::from(bytes))
}

/// Prints what the snapshot's init logged (with its INIT_REPORT, as SnapStart logs it) to stdout and what it cost
/// to stderr.
fn show_snapshot(snapshot: &crate::sandbox::Snapshot) {
    let how = match snapshot.source() {
        crate::sandbox::CodeSource::Compiled => "taken",
        _ => "loaded from the code cache",
    };
    eprintln!(
        "lambda-sim: snapshot {how}: init {:.2} ms (virtual), {} MB of linear memory, restore {:.2} ms (modelled)",
        snapshot.init().duration_ns as f64 / 1e6,
        snapshot.memory_bytes().div_ceil(1 << 20),
        snapshot.restore_ns() as f64 / 1e6,
    );
    let mut out = std::io::stdout().lock();
    let init = snapshot.init_report();
    let _ = out.write_all(&init.log);
    if !init.log.is_empty() && !init.log.ends_with(b"\n") {
        let _ = out.write_all(b"\n");
    }
    let _ = writeln!(out, "{}", crate::logfmt::init_report_line(&init));
}

pub(crate) fn run(args: InvokeArgs) -> Result<ExitCode, CliError> {
    let memory_mb =
        check_memory_mb(args.memory).map_err(|e| CliError::usage(format!("--memory: {e}")))?;
    let timeout_ns =
        check_timeout_s(args.timeout).map_err(|e| CliError::usage(format!("--timeout: {e}")))?;
    let ps_per_fuel = args.engine.ps_per_fuel()?;
    let event = read_payload(&args.payload)?;
    let wasm = crate::guest::resolve(&args.code).map_err(|e| CliError::usage_of(&e))?;
    let name = args
        .code
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "function".into());
    let scenario = Scenario::single_function(SingleFunction {
        name,
        code: wasm.clone(),
        handler: args.handler.clone(),
        memory_mb,
        timeout_ns,
        snapshot: args.snapshot,
        seed: args.seed,
        ps_per_fuel,
        mode: match args.mode {
            Mode::Virtual => crate::scenario::Mode::Virtual,
            Mode::Realtime => crate::scenario::Mode::Realtime,
        },
    });
    let deployment = crate::deploy::deploy(&scenario, &args.engine.cache())
        .map_err(|e| CliError::usage_of(&e))?;
    let info = deployment.codes[0].info();
    let how = match info.source {
        crate::sandbox::CodeSource::Compiled => "compiled",
        crate::sandbox::CodeSource::DiskCache => "loaded from the code cache",
        crate::sandbox::CodeSource::MemoryCache => "already loaded",
    };
    eprintln!(
        "lambda-sim: {} ({} KB) {how} in {:.1} ms",
        wasm.display(),
        info.wasm_bytes.div_ceil(1024),
        info.load_time.as_secs_f64() * 1000.0
    );
    if let Some(snapshot) = &deployment.snapshots[0] {
        show_snapshot(snapshot);
    }
    let mut failed = false;
    let mut show = |record: &InvocationRecord| {
        failed |= record.report.outcome != Outcome::Success;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(record.log_lines(memory_mb).as_bytes());
        let _ = out.write_all(&record.report.body());
        let _ = out.write_all(b"\n");
    };
    match args.mode {
        Mode::Virtual => {
            let sim = crate::sim::Sim::new(&scenario, &deployment, None)
                .map_err(|e| CliError::usage(error_chain(&e)))?;
            for _ in 0..args.repeat {
                let record = sim
                    .invoke(0, event.clone())
                    .map_err(|e| CliError::usage(error_chain(&e)))?;
                show(&record);
            }
        }
        Mode::Realtime => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| CliError::usage(format!("cannot start the runtime: {e}")))?;
            runtime.block_on(async {
                let service = crate::live::LiveService::start(scenario, deployment);
                for _ in 0..args.repeat {
                    match service.invoke(0, event.clone()).await {
                        Ok(record) => show(&record),
                        Err(NotRun::Throttled { reason, .. }) => {
                            return Err(CliError::usage(format!(
                                "the invocation was throttled: {}",
                                reason.as_str()
                            )));
                        }
                        Err(NotRun::SystemError(message)) => {
                            return Err(CliError::usage(message));
                        }
                    }
                }
                Ok(())
            })?;
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
