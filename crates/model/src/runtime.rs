//! Lambda runtimes' own start-up: the part of Init Duration that a managed runtime (or a custom runtime's
//! bootstrap) spends before the function's init code runs. Lambda reports it inside `Init Duration` even for a
//! handler with no init work.
//!
//! Each preset is a lognormal body plus, for runtimes whose measurements show one, a rare slow mode (a few percent
//! of cold starts about 3× slower). The figures are measured, not modelled: maxday/lambda-perf's daily hello-world
//! cold starts (`data/2026-07-22.json` … `data/2026-08-22.json`, commit 6070b794 of github.com/maxday/lambda-perf;
//! region us-east-1 as the project states; zip packages; 128, 256, 512 and 1,024 MB pooled, ≈1,200 samples per
//! runtime and architecture). Memory size made no difference to these Init Durations between 128 and 1,024 MB
//! (medians within 2 %), so the presets do not depend on it; nothing was measured above 1,024 MB. Java SnapStart
//! restores were measured by the same project until 2025-10-18 and do depend on memory. Sources and method:
//! `docs/lambda.md` §3.

use rand::Rng;
use rand::distr::{Distribution as _, StandardUniform};
use rand_distr::StandardNormal;

use crate::limits::NS_PER_MS;

/// A Lambda runtime whose start-up a cold start pays, by Lambda's runtime identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// An OS-only runtime with a compiled bootstrap (measured with Rust's `lambda_runtime`).
    ProvidedAl2023,
    Python312,
    Nodejs22,
    /// Java 21 without SnapStart (with `snapshot = true`: SnapStart's Restore Duration instead).
    Java21,
    Dotnet8,
    Ruby33,
}

/// Processor architecture of the measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

/// A start-up time distribution: lognormal (`median_ms`, `sigma`), except that with probability `slow_share` the
/// draw comes from a lognormal of the same sigma around `slow_median_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StartupTime {
    pub median_ms: f64,
    pub sigma: f64,
    pub slow_share: f64,
    pub slow_median_ms: f64,
}

impl StartupTime {
    const fn body(median_ms: f64, sigma: f64) -> Self {
        StartupTime {
            median_ms,
            sigma,
            slow_share: 0.0,
            slow_median_ms: median_ms,
        }
    }

    const fn with_slow(median_ms: f64, sigma: f64, slow_share: f64, slow_median_ms: f64) -> Self {
        StartupTime {
            median_ms,
            sigma,
            slow_share,
            slow_median_ms,
        }
    }

    /// One start-up time, in nanoseconds.
    pub fn sample_ns<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let u: f64 = StandardUniform.sample(rng);
        let z: f64 = StandardNormal.sample(rng);
        let median = if u < self.slow_share {
            self.slow_median_ms
        } else {
            self.median_ms
        };
        let ms = median * (self.sigma * z).exp();
        (ms * NS_PER_MS as f64) as u64
    }
}

/// How a function's runtime start-up is drawn: a preset's measurement, or a distribution of the user's own
/// (`cold_start.runtime_startup_ms`, e.g. the Init Durations of their logs).
#[derive(Debug, Clone, PartialEq)]
pub enum Startup {
    Measured(StartupTime),
    /// Milliseconds; negative draws count as 0.
    Custom(crate::Distribution),
}

impl Startup {
    /// One start-up time, in nanoseconds.
    pub fn sample_ns<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match self {
            Startup::Measured(t) => t.sample_ns(rng),
            Startup::Custom(d) => (d.sample(rng).max(0.0) * NS_PER_MS as f64) as u64,
        }
    }
}

impl Runtime {
    /// Every preset, with the name a scenario gives it.
    pub const ALL: [(Runtime, &'static str); 6] = [
        (Runtime::ProvidedAl2023, "provided.al2023"),
        (Runtime::Python312, "python3.12"),
        (Runtime::Nodejs22, "nodejs22.x"),
        (Runtime::Java21, "java21"),
        (Runtime::Dotnet8, "dotnet8"),
        (Runtime::Ruby33, "ruby3.3"),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(r, _)| *r == self)
            .map_or("", |(_, n)| n)
    }

    pub fn from_name(name: &str) -> Option<Runtime> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(r, _)| *r)
    }

    /// The runtime's start-up within Init Duration (lambda-perf, 2026-07-22 … 08-22; `docs/lambda.md` §3).
    pub fn startup(self, arch: Arch) -> StartupTime {
        use Arch::*;
        match (self, arch) {
            (Runtime::ProvidedAl2023, X86_64) => StartupTime::with_slow(15.7, 0.09, 0.047, 46.0),
            (Runtime::ProvidedAl2023, Arm64) => StartupTime::with_slow(13.8, 0.09, 0.046, 43.0),
            (Runtime::Python312, X86_64) => StartupTime::body(84.0, 0.10),
            (Runtime::Python312, Arm64) => StartupTime::body(81.0, 0.12),
            (Runtime::Nodejs22, X86_64) => StartupTime::body(141.0, 0.09),
            (Runtime::Nodejs22, Arm64) => StartupTime::body(130.0, 0.11),
            (Runtime::Java21, X86_64) => StartupTime::with_slow(238.0, 0.07, 0.028, 600.0),
            (Runtime::Java21, Arm64) => StartupTime::with_slow(248.0, 0.14, 0.017, 590.0),
            (Runtime::Dotnet8, X86_64) => StartupTime::with_slow(250.0, 0.11, 0.064, 590.0),
            (Runtime::Dotnet8, Arm64) => StartupTime::with_slow(294.0, 0.15, 0.11, 645.0),
            (Runtime::Ruby33, X86_64) => StartupTime::with_slow(230.0, 0.25, 0.05, 450.0),
            (Runtime::Ruby33, Arm64) => StartupTime::with_slow(240.0, 0.28, 0.015, 460.0),
        }
    }

    /// SnapStart's Restore Duration where it was measured: Java 21 on x86_64 (lambda-perf, 2025-09-01 … 09-15 and
    /// 2025-10-07 … 10-18, the first restore of each newly published version, so a cold snapshot cache). Medians
    /// 1,086 / 823 / 730 / 736 ms at 128 / 256 / 512 / 1,024 MB, σ ≈ 0.1; between the measured sizes the median
    /// is interpolated linearly, above 1,024 MB it stays at 1,024 MB's. `None` where nothing was measured (the
    /// sandbox's own snapshot restore model applies).
    pub fn snapstart_restore(self, arch: Arch, memory_mb: u64) -> Option<StartupTime> {
        if self != Runtime::Java21 || arch != Arch::X86_64 {
            return None;
        }
        const POINTS: [(f64, f64); 4] = [
            (128.0, 1086.0),
            (256.0, 823.0),
            (512.0, 730.0),
            (1024.0, 736.0),
        ];
        let mb = (memory_mb as f64).clamp(128.0, 1024.0);
        let median = POINTS
            .windows(2)
            .find(|w| mb <= w[1].0)
            .map_or(POINTS[3].1, |w| {
                let ((m0, v0), (m1, v1)) = (w[0], w[1]);
                v0 + (v1 - v0) * (mb - m0) / (m1 - m0)
            });
        Some(StartupTime::body(median, 0.1))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn median_ms(t: StartupTime) -> f64 {
        let mut rng = StdRng::seed_from_u64(1);
        let mut v: Vec<u64> = (0..20_001).map(|_| t.sample_ns(&mut rng)).collect();
        v.sort_unstable();
        v[10_000] as f64 / 1e6
    }

    #[test]
    fn presets_draw_around_their_measured_medians() {
        for (runtime, name) in Runtime::ALL {
            assert_eq!(Runtime::from_name(name), Some(runtime));
            assert_eq!(runtime.name(), name);
            for arch in [Arch::X86_64, Arch::Arm64] {
                let t = runtime.startup(arch);
                let m = median_ms(t);
                // A slow mode of a few percent moves the median up a little.
                assert!(
                    (t.median_ms * 0.97..t.median_ms * 1.06).contains(&m),
                    "{name} {arch:?}: {m} vs {}",
                    t.median_ms
                );
            }
        }
        assert_eq!(Runtime::from_name("python2.7"), None);
    }

    #[test]
    fn a_slow_mode_shows_in_its_share_of_draws() {
        let t = Runtime::Dotnet8.startup(Arch::Arm64);
        let mut rng = StdRng::seed_from_u64(2);
        let slow = (0..100_000)
            .filter(|_| t.sample_ns(&mut rng) > 450 * NS_PER_MS)
            .count();
        // 11 % slow mode around 645 ms, and the body's tail above 450 ms is negligible.
        assert!((10_000..12_500).contains(&slow), "{slow}");
    }

    #[test]
    fn snapstart_restore_depends_on_memory_where_measured() {
        let r = |mb| {
            Runtime::Java21
                .snapstart_restore(Arch::X86_64, mb)
                .map(|t| t.median_ms)
        };
        assert_eq!(r(128), Some(1086.0));
        assert_eq!(r(64), Some(1086.0));
        assert_eq!(r(192), Some(954.5));
        assert_eq!(r(1024), Some(736.0));
        assert_eq!(r(10_240), Some(736.0));
        assert_eq!(Runtime::Java21.snapstart_restore(Arch::Arm64, 512), None);
        assert_eq!(
            Runtime::Python312.snapstart_restore(Arch::X86_64, 512),
            None
        );
    }
}
