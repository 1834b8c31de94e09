//! How long a replayed invocation runs: drawn from the 2019 trace's duration percentiles by a piecewise-linear
//! inverse CDF, and written into the stand-in handler's payload (`{"wait_ms": …}`).

use bytes::Bytes;

use super::MAX_DURATION_NS;

/// The cumulative probabilities of the 2019 percentile columns 0, 1, 25, 50, 75, 99, 100.
const LEVELS: [f64; 7] = [0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0];

/// The duration at quantile `u` in [0, 1] of a function whose percentiles (0, 1, 25, 50, 75, 99, 100, in ms) are
/// `p`: linear between neighbouring percentile points (a row that is not ascending is made so by a running
/// maximum). Cut to Lambda's 900 s.
pub fn draw_duration_ms(p: &[f64; 7], u: f64) -> f64 {
    let mut v = *p;
    for i in 1..v.len() {
        v[i] = v[i].max(v[i - 1]);
    }
    let u = u.clamp(0.0, 1.0);
    let i = LEVELS[1..]
        .iter()
        .position(|&l| u < l)
        .unwrap_or(LEVELS.len() - 2);
    let (l0, l1) = (LEVELS[i], LEVELS[i + 1]);
    let ms = v[i] + (u - l0) / (l1 - l0) * (v[i + 1] - v[i]);
    ms.clamp(0.0, MAX_DURATION_NS as f64 / 1e6)
}

/// The stand-in handler's event: `{"wait_ms":<ms>}` (3 decimals: nanosecond resolution is not needed).
pub fn payload(wait_ms: f64) -> Bytes {
    Bytes::from(format!("{{\"wait_ms\":{wait_ms:.3}}}"))
}
