//! Control-plane changes to a running platform: reserved and provisioned concurrency, with Lambda's validation.

use super::{Action, Platform, Timer};
use crate::pool::EnvState;
use crate::{DestroyReason, FunctionId};

/// A control-plane change Lambda would refuse (`InvalidParameterValueException`); the message is Lambda's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{unreserved_minimum}]."
    )]
    BelowUnreservedMinimum { unreserved_minimum: u32 },
    #[error(
        "Specified ReservedConcurrentExecutions for function ({reserved}) is less than its provisioned concurrency ({provisioned})."
    )]
    ReservedBelowProvisioned { reserved: u32, provisioned: u32 },
    #[error(
        "Requested Provisioned Concurrency ({requested}) should not be greater than the reservedConcurrentExecution ({reserved}) for function."
    )]
    ProvisionedAboveReserved { requested: u32, reserved: u32 },
    #[error(
        "Requested Provisioned Concurrency ({requested}) exceeds the account's unreserved concurrency minus its minimum ({available})."
    )]
    ProvisionedAboveUnreserved { requested: u32, available: u32 },
}

/// Status of a provisioned concurrency configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionedStatus {
    InProgress,
    Ready,
}

impl ProvisionedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisionedStatus::InProgress => "IN_PROGRESS",
            ProvisionedStatus::Ready => "READY",
        }
    }
}

impl Platform {
    /// PutFunctionConcurrency / DeleteFunctionConcurrency: sets (or removes) a function's reserved concurrency,
    /// with Lambda's validation. Environments already running keep running; the new cap applies to new requests.
    pub fn set_reserved(
        &mut self,
        f: FunctionId,
        reserved: Option<u32>,
    ) -> Result<(), ConfigError> {
        let others: u32 = (0..self.rules.len())
            .filter(|&g| g != f)
            .filter_map(|g| self.rules[g].reserved)
            .sum();
        if let Some(r) = reserved {
            let max = self
                .account
                .concurrency_limit
                .saturating_sub(self.account.unreserved_minimum)
                .saturating_sub(others);
            if r > max {
                return Err(ConfigError::BelowUnreservedMinimum {
                    unreserved_minimum: self.account.unreserved_minimum,
                });
            }
            if r < self.rules[f].provisioned {
                return Err(ConfigError::ReservedBelowProvisioned {
                    reserved: r,
                    provisioned: self.rules[f].provisioned,
                });
            }
        }
        let used = i64::from(self.used(f));
        self.add_used(f, -used); // leaves the unreserved pool (if it was in it)
        self.rules[f].reserved = reserved;
        self.add_used(f, used); // joins it (if it now is unreserved)
        self.reserved_total = others + reserved.unwrap_or(0);
        Ok(())
    }

    /// PutProvisionedConcurrencyConfig / DeleteProvisionedConcurrencyConfig: sets a function's provisioned
    /// concurrency. More environments are allocated after the allocation delay; fewer retire idle ones at once and
    /// busy ones when they finish.
    pub fn set_provisioned(
        &mut self,
        now_ns: u64,
        f: FunctionId,
        count: u32,
    ) -> Result<(), ConfigError> {
        if let Some(r) = self.rules[f].reserved
            && count > r
        {
            return Err(ConfigError::ProvisionedAboveReserved {
                requested: count,
                reserved: r,
            });
        }
        if self.rules[f].reserved.is_none() {
            let pool = self
                .account
                .concurrency_limit
                .saturating_sub(self.reserved_total)
                .saturating_sub(self.account.unreserved_minimum);
            let others: u32 = (0..self.rules.len())
                .filter(|&g| g != f && self.rules[g].reserved.is_none())
                .map(|g| self.rules[g].provisioned)
                .sum();
            if count > pool.saturating_sub(others) {
                return Err(ConfigError::ProvisionedAboveUnreserved {
                    requested: count,
                    available: pool.saturating_sub(others),
                });
            }
        }
        self.observe_utilization(f, now_ns);
        let old_used = i64::from(self.used(f));
        self.rules[f].provisioned = count;
        let alive = self.state[f].provisioned_alive;
        if count > alive {
            self.out.push_back(Action::SetTimer {
                at_ns: now_ns + self.rules[f].allocation_delay_ns,
                timer: Timer::AllocateProvisioned { function: f },
            });
        } else if count < alive {
            let mut excess = alive - count;
            while excess > 0 {
                let Some(sandbox) = self.state[f].idle_provisioned.pop_mru(&self.envs) else {
                    break;
                };
                // Out of the idle pool (pop_mru took its entry), so `destroy` must not forget it again.
                if let Some(env) = self.envs.get_mut(sandbox) {
                    env.state = EnvState::Busy;
                }
                self.destroy(sandbox, DestroyReason::Deprovisioned);
                excess -= 1;
            }
            // Busy or initializing ones retire when they finish.
            let mut to_retire = excess;
            for (_, env) in self.envs.iter_mut() {
                if to_retire == 0 {
                    break;
                }
                if env.function == f
                    && env.provisioned
                    && !env.retire
                    && env.state != EnvState::Idle
                {
                    env.retire = true;
                    to_retire -= 1;
                }
            }
        }
        let new_used = i64::from(self.used(f));
        self.add_used(f, new_used - old_used);
        self.out
            .push_back(Action::ProvisionedConfigured { function: f, count });
        Ok(())
    }

    /// GetProvisionedConcurrencyConfig: (requested, allocated and ready, status).
    pub fn provisioned_status(&self, f: FunctionId) -> (u32, u32, ProvisionedStatus) {
        let s = &self.state[f];
        let requested = self.rules[f].provisioned;
        let ready = s.provisioned_alive - s.initializing_provisioned;
        let status = if ready >= requested {
            ProvisionedStatus::Ready
        } else {
            ProvisionedStatus::InProgress
        };
        (requested, ready.min(requested), status)
    }

    /// A function's current reserved concurrency.
    /// How an `Event` invocation of `f` is admitted now: "To intentionally throttle a function, set its reserved
    /// concurrency to 0. This stops your function from processing any events" — async events go straight to the
    /// on-failure destination, without retries.
    pub fn async_admission(&self, f: FunctionId) -> crate::events::AsyncAdmission {
        if self.reserved(f) == Some(0) {
            crate::events::AsyncAdmission::ZeroReservedConcurrency
        } else {
            crate::events::AsyncAdmission::Queue
        }
    }

    pub fn reserved(&self, f: FunctionId) -> Option<u32> {
        self.rules[f].reserved
    }

    /// The account's concurrency limit and what is left unreserved.
    pub fn account_concurrency(&self) -> (u32, u32) {
        (
            self.account.concurrency_limit,
            self.account
                .concurrency_limit
                .saturating_sub(self.reserved_total),
        )
    }
}
