//! Spreading a minute's invocation count (the 2019 trace's resolution) into arrival times, seeded.
//!
//! The trace only says "n invocations in minute m"; where inside the minute they fall changes how many overlap, and
//! so how many sandboxes and cold starts a replay needs. Three documented rules:
//! - [`Spread::Uniform`]: the minute is cut into `n` equal slots and one arrival falls uniformly at random in each:
//!   the rate is even across the minute, never two arrivals in a clump beyond neighbouring slots.
//! - [`Spread::Poisson`]: a Poisson process conditioned on exactly `n` arrivals in the minute, which (order-statistics
//!   property) is `n` independent uniform times, sorted: gaps are close to exponential, so bursts happen.
//! - [`Spread::EquallySpaced`]: arrival `i` at exactly `i · 60 s / n` from the minute's start (no randomness); one
//!   arrival lands on the minute's first instant, like a cron timer.

use rand::RngExt;
use rand::rngs::StdRng;

/// One minute in nanoseconds.
pub const MINUTE_NS: u64 = 60_000_000_000;

/// How arrivals are placed within their minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Spread {
    /// One arrival uniformly at random in each of `count` equal slots (stratified).
    Uniform,
    /// `count` independent uniform times: a Poisson process given its count.
    Poisson,
    /// Deterministic: `i · minute / count`.
    EquallySpaced,
}

impl Spread {
    /// The name used in scenarios and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Spread::Uniform => "uniform",
            Spread::Poisson => "poisson",
            Spread::EquallySpaced => "equally-spaced",
        }
    }

    /// Parses [`Spread::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Spread> {
        [Spread::Uniform, Spread::Poisson, Spread::EquallySpaced]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// The `count` arrival times (ns from the start of the trace) of minute `minute_index`, ascending, all within
/// `[minute_index · 60 s, (minute_index + 1) · 60 s)`. Deterministic for a given `rng` state; the rng is advanced by
/// `count` draws for `Uniform` and `Poisson`, not at all for `EquallySpaced`.
pub fn spread(
    minute_index: u64,
    count: u32,
    rule: Spread,
    rng: &mut StdRng,
) -> impl Iterator<Item = u64> + use<> {
    let base = minute_index * MINUTE_NS;
    let n = u64::from(count);
    let mut offsets: Vec<u64> = Vec::with_capacity(count as usize);
    match rule {
        Spread::Uniform => {
            for i in 0..n {
                // Slot i is [i·M/n, (i+1)·M/n); integer bounds keep every slot non-empty while n < M.
                let lo = slot_start(i, n);
                let hi = slot_start(i + 1, n).max(lo + 1);
                offsets.push(rng.random_range(lo..hi));
            }
        }
        Spread::Poisson => {
            offsets.extend((0..n).map(|_| rng.random_range(0..MINUTE_NS)));
            offsets.sort_unstable();
        }
        Spread::EquallySpaced => offsets.extend((0..n).map(|i| slot_start(i, n))),
    }
    offsets.into_iter().map(move |o| base + o)
}

/// Every arrival of a day of per-minute counts (`counts[m]` in minute `m`), ascending, spread minute by minute with
/// `rule`. Lazy: only one minute's times are held at once. The rng is drawn in minute order, so the result is a pure
/// function of the counts, the rule and the rng's state.
pub fn spread_day<'a>(
    counts: &'a [u32],
    rule: Spread,
    rng: &'a mut StdRng,
) -> impl Iterator<Item = u64> + 'a {
    (0u64..)
        .zip(counts)
        .flat_map(move |(minute, &count)| spread(minute, count, rule, rng))
}

/// `i · minute / n`, in u128 so that `i · 60e9` cannot overflow for any `u32` count.
pub(super) fn slot_start(i: u64, n: u64) -> u64 {
    (u128::from(i) * u128::from(MINUTE_NS) / u128::from(n)) as u64
}
