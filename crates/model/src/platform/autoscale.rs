//! Provisioned concurrency that changes during a run: scheduled actions (like Application Auto Scaling scheduled
//! actions) and target tracking on `LambdaProvisionedConcurrencyUtilization`.
//!
//! Target tracking as AWS documents it (docs/lambda.md §2): one datapoint a minute, the minute's average
//! utilization (busy provisioned environments ÷ ready ones, integrated over the minute); the scale-out alarm fires
//! after `scale_out_datapoints` (3) consecutive datapoints above the target, the scale-in alarm after
//! `scale_in_datapoints` (15) consecutive ones below 90 % of it. A minute without invocations emits no datapoint
//! (the alarms see INSUFFICIENT_DATA), so an idle function is never scaled in. The new capacity is
//! ⌈current × utilization ÷ target⌉ within [min, max]; after a change the datapoint history starts afresh, which
//! stands in for the alarms' re-evaluation and the cooldown.
//!
//! Every change of the configured count is reported as [`Action::ProvisionedConfigured`] for billing.

use std::collections::VecDeque;

use super::{Action, Platform, Timer};
use crate::FunctionId;
use crate::TargetTracking;

const MINUTE_NS: u64 = 60_000_000_000;

/// What target tracking measures of one function.
#[derive(Debug, Default, Clone)]
pub(super) struct Utilization {
    /// When the integrals were last brought up to date.
    last_ns: u64,
    /// ∫ busy provisioned environments dt over the current minute (ns).
    busy: u128,
    /// ∫ ready provisioned environments dt over the current minute (ns).
    ready: u128,
    /// Invocations of the function in the current minute.
    invocations: u64,
    /// Latest datapoints, newest last; `None` for a minute without data.
    history: VecDeque<Option<f64>>,
    /// Scaling actions taken (out, in).
    pub(super) scaled_out: u32,
    pub(super) scaled_in: u32,
}

impl Platform {
    /// Schedules the scheduled actions and the first target-tracking evaluation (called from `start`).
    pub(super) fn start_autoscaling(&mut self, now_ns: u64) {
        for f in 0..self.rules.len() {
            for (index, &(at_ns, _)) in self.rules[f].schedule.iter().enumerate() {
                self.out.push_back(Action::SetTimer {
                    at_ns: now_ns.saturating_add(at_ns),
                    timer: Timer::ScheduledProvisioned { function: f, index },
                });
            }
            if let Some(tt) = self.rules[f].autoscaling {
                self.utilization[f].last_ns = now_ns;
                if tt.min > self.rules[f].provisioned {
                    let _ = self.set_provisioned(now_ns, f, tt.min);
                }
                self.out.push_back(Action::SetTimer {
                    at_ns: now_ns.saturating_add(MINUTE_NS),
                    timer: Timer::EvaluateTargetTracking { function: f },
                });
            }
        }
    }

    /// Brings function `f`'s utilization integrals up to `now_ns` (before any change to its environments).
    pub(super) fn observe_utilization(&mut self, f: FunctionId, now_ns: u64) {
        if self.rules[f].autoscaling.is_none() {
            return;
        }
        let s = &self.state[f];
        let busy = u128::from(s.busy_provisioned);
        let ready = u128::from(
            s.provisioned_alive
                .saturating_sub(s.initializing_provisioned),
        );
        let u = &mut self.utilization[f];
        let dt = u128::from(now_ns.saturating_sub(u.last_ns));
        u.busy += busy * dt;
        u.ready += ready * dt;
        u.last_ns = u.last_ns.max(now_ns);
    }

    /// Counts an invocation of `f` toward the current minute's datapoint.
    pub(super) fn count_invocation(&mut self, f: FunctionId) {
        if self.rules[f].autoscaling.is_some() {
            self.utilization[f].invocations += 1;
        }
    }

    /// A scheduled action's time came.
    pub(super) fn scheduled_action(&mut self, now_ns: u64, f: FunctionId, index: usize) {
        let Some(&(_, count)) = self.rules[f].schedule.get(index) else {
            return;
        };
        self.observe_utilization(f, now_ns);
        // A count the account cannot hold is refused, as the API would; the configuration stays as it was.
        let _ = self.set_provisioned(now_ns, f, count);
    }

    /// The minute is over: emit its datapoint and let the alarms decide.
    pub(super) fn evaluate_target_tracking(&mut self, now_ns: u64, f: FunctionId) {
        let Some(tt) = self.rules[f].autoscaling else {
            return;
        };
        self.observe_utilization(f, now_ns);
        let u = &mut self.utilization[f];
        let datapoint = (u.invocations > 0 && u.ready > 0).then(|| u.busy as f64 / u.ready as f64);
        u.busy = 0;
        u.ready = 0;
        u.invocations = 0;
        u.history.push_back(datapoint);
        let keep = tt.scale_out_datapoints.max(tt.scale_in_datapoints) as usize;
        while u.history.len() > keep {
            u.history.pop_front();
        }
        self.out.push_back(Action::SetTimer {
            at_ns: now_ns.saturating_add(MINUTE_NS),
            timer: Timer::EvaluateTargetTracking { function: f },
        });
        let current = self.rules[f].provisioned;
        if let Some(desired) = decide(&tt, current, &self.utilization[f].history)
            && self.set_provisioned(now_ns, f, desired).is_ok()
        {
            let u = &mut self.utilization[f];
            if desired > current {
                u.scaled_out += 1;
            } else {
                u.scaled_in += 1;
            }
            u.history.clear();
        }
    }

    /// Scaling actions target tracking took for `f`: (scale-outs, scale-ins).
    pub fn autoscaling_actions(&self, f: FunctionId) -> (u32, u32) {
        let u = &self.utilization[f];
        (u.scaled_out, u.scaled_in)
    }
}

/// The new capacity the alarms ask for, if one fires and changes it.
fn decide(tt: &TargetTracking, current: u32, history: &VecDeque<Option<f64>>) -> Option<u32> {
    let last = |n: u32| -> Option<Vec<f64>> {
        let n = n as usize;
        if history.len() < n {
            return None;
        }
        history.iter().skip(history.len() - n).copied().collect()
    };
    let proportional = |util: f64| -> u32 {
        let want = (f64::from(current.max(1)) * util / tt.target).ceil();
        (want.max(0.0).min(f64::from(u32::MAX)) as u32).clamp(tt.min, tt.max)
    };
    if let Some(points) = last(tt.scale_out_datapoints)
        && points.iter().all(|&p| p > tt.target)
    {
        let latest = points.last().copied().unwrap_or(tt.target);
        let desired = proportional(latest).max(current.saturating_add(1).min(tt.max));
        return (desired > current).then_some(desired);
    }
    if let Some(points) = last(tt.scale_in_datapoints)
        && points.iter().all(|&p| p < 0.9 * tt.target)
    {
        let latest = points.last().copied().unwrap_or(tt.target);
        let desired = proportional(latest);
        return (desired < current).then_some(desired);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tt() -> TargetTracking {
        TargetTracking {
            min: 1,
            max: 100,
            target: 0.7,
            scale_out_datapoints: 3,
            scale_in_datapoints: 15,
        }
    }

    fn hist(points: &[Option<f64>]) -> VecDeque<Option<f64>> {
        points.iter().copied().collect()
    }

    #[test]
    fn scale_out_needs_three_breaching_datapoints_and_is_proportional() {
        let t = tt();
        assert_eq!(decide(&t, 10, &hist(&[Some(1.0), Some(1.0)])), None);
        assert_eq!(
            decide(&t, 10, &hist(&[Some(0.5), Some(1.0), Some(1.0)])),
            None
        );
        // ⌈10 × 1.0 / 0.7⌉ = 15.
        assert_eq!(
            decide(&t, 10, &hist(&[Some(0.8), Some(0.9), Some(1.0)])),
            Some(15)
        );
        // A minute without data breaks the run.
        assert_eq!(decide(&t, 10, &hist(&[Some(1.0), None, Some(1.0)])), None);
        // Capped at max.
        assert_eq!(decide(&t, 90, &hist(&[Some(1.0); 3])), Some(100));
        assert_eq!(decide(&t, 100, &hist(&[Some(1.0); 3])), None);
    }

    #[test]
    fn scale_in_needs_fifteen_datapoints_below_ninety_percent_of_target() {
        let t = tt();
        let low = [Some(0.2); 15];
        // ⌈20 × 0.2 / 0.7⌉ = 6.
        assert_eq!(decide(&t, 20, &hist(&low)), Some(6));
        assert_eq!(decide(&t, 20, &hist(&low[..14])), None);
        // 0.65 is above 0.9 × 0.7 = 0.63: no scale-in.
        assert_eq!(decide(&t, 20, &hist(&[Some(0.65); 15])), None);
        // Idle minutes (no datapoint) never scale in.
        let mut idle = vec![Some(0.2); 14];
        idle.push(None);
        assert_eq!(decide(&t, 20, &hist(&idle)), None);
        // Not below min.
        assert_eq!(decide(&t, 2, &hist(&[Some(0.01); 15])), Some(1));
        assert_eq!(decide(&t, 1, &hist(&[Some(0.01); 15])), None);
    }
}
