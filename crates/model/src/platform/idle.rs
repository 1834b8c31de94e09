//! How idle environments are kept, and the platform side of the learning keep-alive policies: parking an idle
//! environment (with its keep-alive timer), the hybrid policy's unload-then-pre-warm, and greedy-dual admission
//! and eviction. The policies' own rules are in [`crate::keepalive`].

use super::{Action, Platform, Timer};
use crate::KeepAlivePolicy;
use crate::keepalive::{IdleTimes, KeepAliveStats};
use crate::pool::EnvState;
use crate::{DestroyReason, FunctionId, SandboxId};

impl Platform {
    /// Puts an environment in its function's idle pool; an on-demand one is reclaimed at `until_ns` (never when
    /// `None`).
    pub(super) fn park(&mut self, sandbox: SandboxId, until_ns: Option<u64>) {
        let Some(env) = self.envs.get_mut(sandbox) else {
            return;
        };
        env.state = EnvState::Idle;
        env.idle_epoch = env.idle_epoch.wrapping_add(1);
        let (f, provisioned, idle_epoch) = (env.function, env.provisioned, env.idle_epoch);
        if provisioned {
            self.state[f].idle_provisioned.push(sandbox, idle_epoch);
            return;
        }
        self.state[f].idle_on_demand.push(sandbox, idle_epoch);
        let Some(until) = until_ns else {
            return;
        };
        if let Some(env) = self.envs.get_mut(sandbox) {
            env.keep_alive_until_ns = until;
            if !env.keep_alive_armed {
                env.keep_alive_armed = true;
                self.out.push_back(Action::SetTimer {
                    at_ns: until,
                    timer: Timer::KeepAlive { sandbox },
                });
            }
        }
    }

    /// The hybrid policy for an on-demand environment that just became idle: how long to keep it, or `None` when
    /// it was unloaded and a pre-warm is scheduled instead.
    pub(super) fn hybrid_idle(
        &mut self,
        now_ns: u64,
        sandbox: SandboxId,
        f: FunctionId,
        fallback_ns: u64,
        min_samples: u32,
    ) -> Option<u64> {
        match self.keep.windows(f, min_samples) {
            Ok(w) if w.prewarm_ns > 0 => {
                // The next request is not expected before the pre-warm window: free the memory until then.
                self.destroy(sandbox, DestroyReason::KeepAlive);
                self.out.push_back(Action::SetTimer {
                    at_ns: now_ns.saturating_add(w.prewarm_ns),
                    timer: Timer::Prewarm {
                        function: f,
                        epoch: self.keep.arrivals(f),
                        keep_alive_ns: w.keep_alive_ns,
                    },
                });
                None
            }
            Ok(w) => Some(w.keep_alive_ns),
            Err(_) => {
                self.keep.stats.fallbacks += 1;
                Some(fallback_ns)
            }
        }
    }

    /// A pre-warm timer fired: create and initialize an environment, unless a request came since it was set (that
    /// request's invocation decides anew when it ends).
    pub(super) fn prewarm(&mut self, now_ns: u64, f: FunctionId, epoch: u64, keep_alive_ns: u64) {
        if self.keep.arrivals(f) != epoch {
            return;
        }
        let sandbox = self.new_env(f, false, now_ns, EnvState::Initializing);
        if let Some(env) = self.envs.get_mut(sandbox) {
            // The keep-alive window runs from the pre-warm, as in the paper.
            env.keep_alive_until_ns = now_ns.saturating_add(keep_alive_ns);
        }
        self.state[f].prewarming += 1;
        self.keep.stats.prewarms += 1;
        let overhead_ns = self.sample_overhead(f);
        let start = self.on_demand_start(f);
        self.out.push_back(Action::Prewarm {
            sandbox,
            function: f,
            overhead_ns,
            start,
        });
    }

    /// A pre-warmed environment finished its init (`ok`) or failed it.
    pub(super) fn prewarmed(&mut self, sandbox: SandboxId, ok: bool) {
        let Some(env) = self.envs.get_mut(sandbox) else {
            return;
        };
        let (f, retire, until) = (env.function, env.retire, env.keep_alive_until_ns);
        // Out of the initializing count before it is parked or destroyed.
        env.state = EnvState::Busy;
        self.state[f].prewarming -= 1;
        if !ok {
            self.destroy(sandbox, DestroyReason::Reset);
        } else if retire {
            self.destroy(sandbox, DestroyReason::MaxLifetime);
        } else {
            self.park(sandbox, Some(until));
        }
    }

    /// Greedy-dual: a new on-demand environment of `f` joins the cache; idle ones are evicted, lowest priority
    /// first, while it would not fit the budget. If nothing idle is left it is still created (Lambda does not
    /// refuse a request for memory it keeps warm), and the overflow is counted.
    pub(super) fn admit_cached(&mut self, f: FunctionId) {
        let size = self.rules[f].memory_mb;
        let budget = self.keep.budget_mb;
        if self.keep.cached_mb.saturating_add(size) > budget {
            let rules = &self.rules;
            let order = self.keep.eviction_order(
                &self.envs,
                |g| rules[g].keep_alive == KeepAlivePolicy::GreedyDual,
                |g| rules[g].memory_mb,
            );
            for (priority, victim) in order {
                if self.keep.cached_mb.saturating_add(size) <= budget {
                    break;
                }
                // The clock never moves back (a falling mean init cost can lower an old priority).
                self.keep.clock = self.keep.clock.max(priority);
                self.keep.stats.evictions += 1;
                self.destroy(victim, DestroyReason::Evicted);
            }
            if self.keep.cached_mb.saturating_add(size) > budget {
                self.keep.stats.overflows += 1;
            }
        }
        self.keep.cached_mb = self.keep.cached_mb.saturating_add(size);
    }

    /// A driver measured an init of `f` (a cold start's or a pre-warm's): greedy-dual's cost of `f` is the mean.
    pub fn init_observed(&mut self, f: FunctionId, init_ns: u64) {
        self.keep.init_observed(f, init_ns);
    }

    /// Counters of the learning keep-alive policies so far.
    pub fn keep_alive_stats(&self) -> KeepAliveStats {
        self.keep.stats
    }

    /// Greedy-dual's clock.
    pub fn greedy_dual_clock(&self) -> u128 {
        self.keep.clock
    }

    /// Memory of alive on-demand environments of greedy-dual functions, MB.
    pub fn greedy_dual_memory_mb(&self) -> u64 {
        self.keep.cached_mb
    }

    /// A hybrid function's idle-time histogram.
    pub fn idle_times(&self, f: FunctionId) -> Option<&IdleTimes> {
        self.keep.idle_times(f)
    }
}
