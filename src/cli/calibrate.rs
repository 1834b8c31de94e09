//! `lambda-sim calibrate`: measure what one unit of fuel costs on this machine, for `--ns-per-fuel`.
//!
//! Runs a CPU-bound handler in real time with fuel metering on, and divides the measured guest time by the fuel it
//! consumed. The default handler is a built-in mix of arithmetic, branches and memory traffic; `--function` measures
//! a handler of yours instead (its own instruction mix is what matters most for its durations).

use std::path::PathBuf;
use std::process::ExitCode;

use bytes::Bytes;

use super::{CliError, EngineArgs};
use crate::limits::NS_PER_S;
use crate::sandbox::{
    CallLimits, ClockMode, CodeCache, FunctionCode, InitializationType, Invocation, Outcome,
    RequestId, Sandbox, SandboxConfig,
};

/// A hash loop over a 64 KiB table: integer arithmetic, loads, stores and a data-dependent branch.
const BUILTIN: &str = r#"(module
  (@custom "lambda-sim-abi" "1")
  (memory (export "memory") 2)
  (func (export "handle") (result i32)
    (local $i i32) (local $h i32) (local $a i32)
    (local.set $h (i32.const 0x811c9dc5))
    (loop $l
      (local.set $a (i32.and (i32.mul (local.get $i) (i32.const 4)) (i32.const 0xfffc)))
      (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load (local.get $a))) (i32.const 16777619)))
      (if (i32.and (local.get $h) (i32.const 1))
        (then (i32.store (local.get $a) (local.get $h)))
        (else (local.set $h (i32.rotl (local.get $h) (i32.const 5)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 20000000))))
    (i32.const 0)))"#;

#[derive(clap::Args, Debug)]
pub(crate) struct CalibrateArgs {
    /// Measure this handler (guest crate or .wasm) instead of the built-in loop.
    #[arg(long)]
    function: Option<PathBuf>,
    /// The event to send to `--function`.
    #[arg(long, default_value = "{}")]
    payload: String,
    /// Measured runs; the median is reported.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Directory for precompiled modules [default: $LAMBDA_SIM_CACHE_DIR or ~/.cache/lambda-sim].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

pub(crate) fn run(args: CalibrateArgs) -> Result<ExitCode, CliError> {
    // Fuel is what is measured here, so no --ns-per-fuel: only where modules are cached.
    let engine_args = EngineArgs::with_cache_dir(args.cache_dir.clone());
    let engine = engine_args.engine(4)?;
    engine.ensure_epoch_ticker();
    let code = match &args.function {
        Some(path) => {
            let wasm = crate::guest::resolve(path).map_err(|e| CliError::usage_of(&e))?;
            FunctionCode::load_file(&engine, &engine_args.cache(), &wasm)
        }
        None => FunctionCode::from_bytes(
            &engine,
            &CodeCache::in_memory(),
            "built-in calibration loop",
            BUILTIN.as_bytes(),
        ),
    }
    .map_err(|e| CliError::usage_of(&e))?;
    let config = SandboxConfig {
        function_name: "calibrate".into(),
        handler: None,
        memory_mb: 10_240,
        ps_per_fuel: 1,
        seed: 1,
        clock: ClockMode::Real,
        initialization_type: InitializationType::OnDemand,
        services: None,
        environment: Vec::new(),
    };
    let sandbox_err =
        |e: crate::sandbox::SandboxError| CliError::usage(crate::sandbox::error_chain(&e));
    let mut sandbox = Sandbox::new(&code, &config).map_err(sandbox_err)?;
    let limits = CallLimits {
        timeout_ns: 900 * NS_PER_S,
        start_ns: 0,
    };
    // A real-time sandbox runs its guest as a suspendable call (it yields CPU and its waits sleep): on tokio.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| CliError::usage(format!("cannot start the runtime: {e}")))?;
    runtime
        .block_on(sandbox.init(limits))
        .map_err(sandbox_err)?;
    let invocation = Invocation {
        request_id: RequestId(1),
        event: Bytes::from(args.payload.clone().into_bytes()),
    };
    let mut samples = Vec::new();
    // One warm-up run, then the measured ones.
    for run in 0..=args.runs {
        let report = runtime
            .block_on(sandbox.invoke(&invocation, limits))
            .map_err(sandbox_err)?;
        if report.outcome != Outcome::Success {
            return Err(CliError::usage(format!(
                "the calibration handler failed: {}",
                report.error.map(|e| e.error_message).unwrap_or_default()
            )));
        }
        if report.fuel == 0 {
            return Err(CliError::usage("the calibration handler consumed no fuel"));
        }
        if run > 0 {
            samples.push(report.cpu_ns as f64 * 1000.0 / report.fuel as f64);
        }
    }
    samples.sort_by(f64::total_cmp);
    let median_ps = samples[samples.len() / 2];
    println!(
        "fuel cost on this machine: {:.3} ns per unit (median of {} runs; min {:.3}, max {:.3})",
        median_ps / 1000.0,
        samples.len(),
        samples[0] / 1000.0,
        samples[samples.len() - 1] / 1000.0
    );
    println!("use it with: --ns-per-fuel {:.3}", median_ps / 1000.0);
    Ok(ExitCode::SUCCESS)
}
