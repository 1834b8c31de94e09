//! Environments made off any request's path: provisioned concurrency, and the pre-warms of the hybrid keep-alive
//! policy. The environment is placed, initialized (a pre-warm of a snapshot function is restored instead) and
//! reported ready to the model when its init ends.

use super::core::apply_actions;
use super::{Driver, Environment, RunError};
use crate::model::{EnvironmentStart, FunctionId, SandboxId};
use crate::sandbox::{CallLimits, InitializationType};

/// Creates environment `id` of function `f` (`kind`: provisioned, or an on-demand pre-warm) and makes it ready as
/// the model decided (`start`: init within its limit, or a restore), its guest code starting after `overhead_ns` of
/// placement and code download.
pub async fn provision<D: Driver>(
    d: &D,
    id: SandboxId,
    f: FunctionId,
    overhead_ns: u64,
    kind: InitializationType,
    start: EnvironmentStart,
) {
    let provisioned = kind == InitializationType::ProvisionedConcurrency;
    let at = d.guest_starts_at(d.now() + overhead_ns).await;
    let run = d.run().clone();
    let (restore_ns, made) = match start {
        EnvironmentStart::Restore { restore_ns } => {
            let made = match super::environment::snapshot(&run, f) {
                Ok(snapshot) => Environment::restore(d, f, id, snapshot)
                    .await
                    .map(|env| (Some(env), 0)),
                Err(e) => Err(e.into()),
            };
            (Some(restore_ns), made)
        }
        EnvironmentStart::Init {
            limit_ns,
            runtime_ns,
        } => {
            let made = match Environment::new(d, f, id, kind) {
                Ok(mut env) => {
                    let limits = CallLimits {
                        timeout_ns: limit_ns,
                        start_ns: at,
                    };
                    env.init(d, limits, runtime_ns)
                        .await
                        .map(|report| {
                            let ready = env.sandbox.is_initialized().then_some(env);
                            (ready, report.duration_ns)
                        })
                        .map_err(RunError::from)
                }
                Err(e) => Err(e),
            };
            (None, made)
        }
    };
    let (env, init_ns) = match made {
        Ok(made) => made,
        Err(e) => {
            // lambda-sim's failure (no sandbox slot, the memory budget): the allocation fails, and the driver hears
            // of it.
            d.system_error(e);
            (None, 0)
        }
    };
    let ok = env.is_some();
    let ready_ns = {
        let mut core = d.core();
        if let Some(env) = env {
            core.put_environment(id, env);
        }
        match restore_ns {
            Some(restore_ns) => {
                if ok {
                    // For greedy-dual, a cold start of this function costs a restore.
                    core.model.init_observed(f, restore_ns);
                }
                at + restore_ns
            }
            None => {
                if provisioned {
                    core.metrics.provisioned_init(f, at, init_ns);
                } else if ok {
                    core.model.init_observed(f, init_ns);
                }
                at + init_ns
            }
        }
    };
    d.sleep_until(ready_ns).await;
    let now = d.now();
    let actions = {
        let mut core = d.core();
        if core.model.function_of(id).is_some() {
            core.touched(f);
        }
        if !ok {
            drop(core.take_environment(id));
        }
        core.model.sandbox_ready(now, id, ok);
        core.take_actions()
    };
    apply_actions(d, now, actions, None);
}
