//! The settings of the account, functions and their policies that the model's rules read: plain values, parsed and
//! checked elsewhere (the scenario loader), used here and by the drivers.

use rand::Rng;
use rand::distr::{Distribution as _, StandardUniform};
use rand_distr::{Exp1, StandardNormal};

#[derive(Debug, Clone)]
pub struct Account {
    /// Regional concurrency limit (default 1000).
    pub concurrency_limit: u32,
    /// Concurrency always left to functions without reserved concurrency (default 100).
    pub unreserved_minimum: u32,
    pub scaling: ScalingModel,
    /// How the scaling rate's budget comes back.
    pub scaling_refill: ScalingRefill,
    /// Synchronous requests per second one execution environment accounts for (Lambda: 10); `None` lifts the
    /// request-rate limit (an experiment that leaves Lambda's rules).
    pub requests_per_environment: Option<u32>,
    /// Memory budget of idle-or-busy on-demand environments of greedy-dual keep-alive functions, MB (required when
    /// a function uses that policy; unused otherwise).
    pub keep_alive_memory_mb: Option<u64>,
}

/// How fast new execution environments may be created.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScalingModel {
    /// Since Nov 2023: each function may add `environments` new environments per `window_ns` (1000 per 10 s),
    /// refilled continuously.
    PerFunction { environments: u32, window_ns: u64 },
    /// Until Nov 2023: an account-wide initial burst (500, 1000 or 3000 by Region), then `per_minute` (500) more.
    Legacy { burst: u32, per_minute: u32 },
}

/// How a scaling-rate budget is refilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScalingRefill {
    /// Bit by bit, all the time: AWS: "Lambda makes a best attempt to refill your concurrency scaling rate
    /// continuously over time, rather than in one single refill of 1,000 units every 10 seconds."
    #[default]
    Continuous,
    /// The whole window's worth at once, at each window's end counted from the start of the run (the literal
    /// reading of "1,000 execution environments every 10 seconds").
    Stepwise,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KeepAlivePolicy {
    /// Reclaim an environment this long after it became idle.
    Fixed { idle_ns: u64 },
    /// Observed Lambda behaviour: idle lifetime drawn uniformly in [min_ns, max_ns] (5–7 min) per idle period.
    Lambda { min_ns: u64, max_ns: u64 },
    /// Reclaim as soon as an invocation ends: every invocation is a cold start.
    None,
    /// Hybrid histogram policy (Shahrad et al., USENIX ATC '20): pre-warm and keep-alive windows learnt from the
    /// function's idle-time histogram; a fixed keep-alive of `fallback_ns` while the histogram has fewer than
    /// `min_samples` idle times or is not representative.
    Hybrid { fallback_ns: u64, min_samples: u32 },
    /// Greedy-dual keep-alive caching (FaasCache, ASPLOS '21): idle environments stay warm until the account's
    /// `keep_alive_memory_mb` is needed, then the lowest-priority ones are evicted.
    GreedyDual,
}

/// A seeded random distribution of a real value (units given by the field using it).
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    Constant {
        value: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    Exponential {
        mean: f64,
    },
    Normal {
        mean: f64,
        stddev: f64,
    },
    /// Parameterised by its median (= e^mu) and sigma.
    LogNormal {
        median: f64,
        sigma: f64,
    },
    /// Draws one of `values` with probability proportional to `weights` (equal if empty).
    Empirical {
        values: Vec<f64>,
        weights: Vec<f64>,
    },
}

/// Application Auto Scaling target tracking on `LambdaProvisionedConcurrencyUtilization` (per-minute datapoints).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetTracking {
    pub min: u32,
    pub max: u32,
    /// Target utilization, 0.1–0.9.
    pub target: f64,
    /// Consecutive datapoints above the target before scaling out (AWS: 3).
    pub scale_out_datapoints: u32,
    /// Consecutive datapoints below 90 % of the target before scaling in (AWS: 15).
    pub scale_in_datapoints: u32,
}

impl Distribution {
    /// Draws one value. The raw value is returned: clamping a negative draw (a normal's tail) where a time or a count
    /// is meant is the caller's job.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Distribution::Constant { value } => *value,
            Distribution::Uniform { min, max } => {
                let u: f64 = StandardUniform.sample(rng);
                min + (max - min) * u
            }
            Distribution::Exponential { mean } => {
                let e: f64 = Exp1.sample(rng);
                mean * e
            }
            Distribution::Normal { mean, stddev } => {
                let z: f64 = StandardNormal.sample(rng);
                mean + stddev * z
            }
            Distribution::LogNormal { median, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                median * (sigma * z).exp()
            }
            Distribution::Empirical { values, weights } => {
                let u: f64 = StandardUniform.sample(rng);
                if weights.is_empty() {
                    let i =
                        ((u * values.len() as f64) as usize).min(values.len().saturating_sub(1));
                    return values.get(i).copied().unwrap_or(0.0);
                }
                let total: f64 = weights.iter().sum();
                let mut target = u * total;
                for (value, weight) in values.iter().zip(weights) {
                    if target < *weight {
                        return *value;
                    }
                    target -= weight;
                }
                // Rounding left `target` just above the last weight: the last value with a positive weight.
                values
                    .iter()
                    .zip(weights)
                    .rev()
                    .find(|(_, w)| **w > 0.0)
                    .map_or(0.0, |(v, _)| *v)
            }
        }
    }

    /// The distribution's mean (for messages and sanity checks).
    pub fn mean(&self) -> f64 {
        match self {
            Distribution::Constant { value } => *value,
            Distribution::Uniform { min, max } => (min + max) / 2.0,
            Distribution::Exponential { mean } | Distribution::Normal { mean, .. } => *mean,
            Distribution::LogNormal { median, sigma } => median * (sigma * sigma / 2.0).exp(),
            Distribution::Empirical { values, weights } => {
                if values.is_empty() {
                    0.0
                } else if weights.is_empty() {
                    values.iter().sum::<f64>() / values.len() as f64
                } else {
                    let total: f64 = weights.iter().sum();
                    values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn mean_of(d: &Distribution, n: usize) -> f64 {
        let mut rng = StdRng::seed_from_u64(7);
        (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / n as f64
    }

    #[test]
    fn sample_means() {
        let cases = [
            Distribution::Constant { value: 3.0 },
            Distribution::Uniform { min: 2.0, max: 4.0 },
            Distribution::Exponential { mean: 500.0 },
            Distribution::Normal {
                mean: 10.0,
                stddev: 2.0,
            },
            Distribution::LogNormal {
                median: 90.0,
                sigma: 0.35,
            },
            Distribution::Empirical {
                values: vec![1.0, 2.0, 3.0],
                weights: vec![],
            },
            Distribution::Empirical {
                values: vec![1.0, 10.0],
                weights: vec![3.0, 1.0],
            },
        ];
        for d in &cases {
            let m = mean_of(d, 200_000);
            assert!(
                (m - d.mean()).abs() <= 0.02 * d.mean(),
                "{d:?}: sample mean {m} vs {}",
                d.mean()
            );
        }
    }

    #[test]
    fn empirical_zero_weight_never_drawn() {
        let d = Distribution::Empirical {
            values: vec![1.0, 2.0, 3.0],
            weights: vec![1.0, 0.0, 1.0],
        };
        let mut rng = StdRng::seed_from_u64(1);
        assert!((0..10_000).all(|_| d.sample(&mut rng) != 2.0));
    }
}
