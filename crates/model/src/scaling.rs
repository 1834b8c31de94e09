//! The scaling rate: how fast new execution environments may be created, as token buckets refilled continuously.
//!
//! - Per function (Nov 2023 onward): each function may add 1,000 environments every 10 s; unused rate does not
//!   accrue beyond that (capacity 1,000).
//! - Legacy (to Nov 2023): one account-wide bucket with the Region's initial burst (500/1,000/3,000) as capacity,
//!   refilled at 500 per minute. AWS described it as a burst followed by +500 concurrency per minute; a bucket of new
//!   environments is lambda-sim's reading of it.
//!
//! AWS says the per-function rate is refilled continuously ("rather than in one single refill of 1,000 units every
//! 10 seconds"); the stepwise refill, the literal reading of "1,000 every 10 seconds", is an option.
//!
//! Fixed point: a bucket's level is kept in token × window-nanoseconds, so refill is an integer multiply.

/// A token bucket of `capacity` tokens that regains `refill_per_window` every `window_ns`, continuously or in one
/// step at each window's end.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Current level, in token·window_ns units.
    level: u128,
    /// Maximum level (capacity × window_ns).
    max: u128,
    /// Tokens added per window.
    refill_per_window: u128,
    window_ns: u128,
    last_ns: u64,
    refill: ScalingRefill,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens that regains `refill_per_window` tokens every `window_ns`.
    pub fn new(
        capacity: u32,
        refill_per_window: u32,
        window_ns: u64,
        refill: ScalingRefill,
    ) -> Self {
        let window_ns = u128::from(window_ns.max(1));
        TokenBucket {
            level: u128::from(capacity) * window_ns,
            max: u128::from(capacity) * window_ns,
            refill_per_window: u128::from(refill_per_window),
            window_ns,
            last_ns: 0,
            refill,
        }
    }

    fn refill(&mut self, now_ns: u64) {
        if now_ns <= self.last_ns {
            return;
        }
        let elapsed = match self.refill {
            ScalingRefill::Continuous => u128::from(now_ns - self.last_ns),
            // Whole windows ended since the last refill, counted from t = 0.
            ScalingRefill::Stepwise => {
                let windows =
                    u128::from(now_ns) / self.window_ns - u128::from(self.last_ns) / self.window_ns;
                windows * self.window_ns
            }
        };
        self.level = (self.level + elapsed * self.refill_per_window).min(self.max);
        self.last_ns = now_ns;
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now_ns: u64) -> bool {
        self.refill(now_ns);
        if self.level >= self.window_ns {
            self.level -= self.window_ns;
            true
        } else {
            false
        }
    }

    /// Whole tokens available now.
    pub fn available(&mut self, now_ns: u64) -> u64 {
        self.refill(now_ns);
        u64::try_from(self.level / self.window_ns).unwrap_or(u64::MAX)
    }
}

use crate::ScalingRefill;

/// A limit of `per_second` requests per second whose value may change between calls (reserved concurrency was
/// changed): a bucket holding one second's worth, full at the first request, refilled continuously. A lower limit
/// caps the level at once; a higher one grows it only by refill.
///
/// Fixed point: the level is kept in request·nanoseconds, so a request costs 10⁹ and a nanosecond refills
/// `per_second`. A u64 holds a second's worth up to 1.8·10¹⁰ requests per second (the largest account allows
/// 10⁷), and refill saturates, so the arithmetic stays in one machine word on this per-request path.
#[derive(Debug, Clone, Default)]
pub struct RequestRate {
    level: u64,
    last_ns: Option<u64>,
}

impl RequestRate {
    const REQUEST: u64 = 1_000_000_000;

    /// Admits one request now if the limit allows it.
    #[inline]
    pub fn try_take(&mut self, now_ns: u64, per_second: u64) -> bool {
        let max = per_second.saturating_mul(Self::REQUEST);
        self.level = match self.last_ns {
            None => max,
            Some(last) => self
                .level
                .saturating_add(now_ns.saturating_sub(last).saturating_mul(per_second))
                .min(max),
        };
        self.last_ns = Some(self.last_ns.map_or(now_ns, |l| l.max(now_ns)));
        if self.level >= Self::REQUEST {
            self.level -= Self::REQUEST;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    use crate::ScalingRefill::{Continuous, Stepwise};

    #[test]
    fn stepwise_refill_adds_a_whole_window_at_each_window_end() {
        let mut b = TokenBucket::new(1000, 1000, 10 * S, Stepwise);
        assert_eq!((0..5000).filter(|_| b.try_take(0)).count(), 1000);
        assert_eq!((0..5000).filter(|_| b.try_take(9 * S)).count(), 0);
        assert_eq!((0..5000).filter(|_| b.try_take(10 * S)).count(), 1000);
        assert_eq!((0..5000).filter(|_| b.try_take(15 * S)).count(), 0);
        // Windows counted from t = 0, not from the last take; unused windows do not accrue beyond capacity.
        assert_eq!((0..5000).filter(|_| b.try_take(20 * S)).count(), 1000);
        assert_eq!(b.available(100 * S), 1000);
    }

    #[test]
    fn per_function_rate_is_1000_per_10_seconds() {
        let mut b = TokenBucket::new(1000, 1000, 10 * S, Continuous);
        let taken = (0..5000).filter(|_| b.try_take(0)).count();
        assert_eq!(taken, 1000, "the full bucket");
        assert!(!b.try_take(0));
        // 1 s later: 100 more.
        assert_eq!((0..5000).filter(|_| b.try_take(S)).count(), 100);
        // Unused rate does not accrue beyond the capacity.
        assert_eq!(b.available(1000 * S), 1000);
    }

    #[test]
    fn request_rate_allows_a_second_s_worth_then_the_rate() {
        let mut r = RequestRate::default();
        assert_eq!((0..1000).filter(|_| r.try_take(0, 100)).count(), 100);
        // 10 ms refill one request at 100/s.
        assert_eq!((0..1000).filter(|_| r.try_take(10_000_000, 100)).count(), 1);
        assert!(!r.try_take(15_000_000, 100));
        // Steady 100/s: one every 10 ms is always admitted.
        for i in 1..=500u64 {
            assert!(r.try_take(10_000_000 + i * 10_000_000, 100), "request {i}");
        }
        // A lower limit caps the level at once.
        assert_eq!((0..1000).filter(|_| r.try_take(20 * S, 5)).count(), 5);
        // A higher one refills at its rate: 0.1 s at 1000/s is 100.
        assert_eq!(
            (0..1000)
                .filter(|_| r.try_take(20 * S + S / 10, 1000))
                .count(),
            100
        );
    }

    #[test]
    fn legacy_burst_then_500_per_minute() {
        let mut b = TokenBucket::new(3000, 500, 60 * S, Continuous);
        assert_eq!((0..10_000).filter(|_| b.try_take(0)).count(), 3000);
        assert_eq!((0..10_000).filter(|_| b.try_take(60 * S)).count(), 500);
        assert_eq!((0..10_000).filter(|_| b.try_take(90 * S)).count(), 250);
    }
}
