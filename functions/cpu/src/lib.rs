//! `cpu`: CPU-bound work whose cost scales linearly with the event's `n` — for exploring how lambda-sim bills CPU
//! time (fuel × ns_per_fuel ÷ CPU share, so more memory means faster invocations).
//!
//! Event: `{"n": 200000, "work": "hash"}` — both optional (`n` defaults to 10000, `work` to `"hash"`).
//! - `"hash"`: `n` rounds of a 64-bit mixing function over a 4-word state (exactly linear in `n`, constant memory);
//! - `"primes"`: counts the primes below `n` with an odd-only bit sieve (`n log log n`, `n / 16` bytes of memory).
//!
//! Response: `{"n": 200000, "work": "hash", "digest": "<16 hex digits>"}` or
//! `{"n": 200000, "work": "primes", "primes": 17984}`.

use lambda_sim_sdk::{Context, Error};
use serde::{Deserialize, Serialize};

/// The kind of work.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Work {
    #[default]
    Hash,
    Primes,
}

/// The event.
#[derive(Debug, Deserialize)]
struct Request {
    #[serde(default = "default_n")]
    n: u64,
    #[serde(default)]
    work: Work,
}

fn default_n() -> u64 {
    10_000
}

/// The response: `digest` for `hash`, `primes` for `primes`.
#[derive(Debug, Serialize)]
struct Response {
    n: u64,
    work: Work,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primes: Option<u64>,
}

fn cpu(event: Request, _ctx: &Context) -> Result<Response, Error> {
    let (digest, primes) = match event.work {
        Work::Hash => (Some(format!("{:016x}", hash_chain(event.n))), None),
        Work::Primes => {
            let limit = usize::try_from(event.n).map_err(|_| {
                Error::new(
                    "InvalidRequest",
                    format!("n = {} is too large for a sieve", event.n),
                )
            })?;
            (None, Some(count_primes_below(limit)))
        }
    };
    Ok(Response {
        n: event.n,
        work: event.work,
        digest,
        primes,
    })
}

/// SplitMix64's finaliser: a cheap, well-mixing 64-bit permutation.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `rounds` data-dependent mixing rounds (each depends on the previous, so nothing can be skipped or folded).
fn hash_chain(rounds: u64) -> u64 {
    let mut state = [
        0x243f_6a88_85a3_08d3_u64,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
        0x082e_fa98_ec4e_6c89,
    ];
    for i in 0..rounds {
        let lane = (i & 3) as usize;
        let next = state[(lane + 1) & 3];
        let z = mix(state[lane] ^ i).wrapping_add(next);
        state[lane] = z.rotate_left(17) ^ state[(lane + 2) & 3];
    }
    state.iter().fold(0, |acc, &w| mix(acc ^ w))
}

/// The number of primes `< limit`, by a sieve of Eratosthenes over odd numbers (one bit each).
fn count_primes_below(limit: usize) -> u64 {
    if limit <= 2 {
        return 0;
    }
    // Bit k stands for the odd number 2k + 1; set = composite. Odd numbers below `limit`: k in 0..odd_count.
    let odd_count = limit / 2;
    let mut composite = vec![0u64; odd_count.div_ceil(64)];
    composite[0] |= 1; // 1 is not prime
    let mut k = 1;
    while (2 * k + 1) * (2 * k + 1) < limit {
        if composite[k / 64] & (1 << (k % 64)) == 0 {
            let p = 2 * k + 1;
            let mut m = (p * p) / 2;
            while m < odd_count {
                composite[m / 64] |= 1 << (m % 64);
                m += p;
            }
        }
        k += 1;
    }
    // Bits past odd_count in the last word are never set, so every set bit is a composite (or 1) below `limit`.
    let composites: u64 = composite.iter().map(|w| u64::from(w.count_ones())).sum();
    // + 1 for the prime 2, which the odd-only sieve does not represent.
    1 + odd_count as u64 - composites
}

lambda_sim_sdk::handler!(cpu);

// Native only: the tests run against the SDK's stand-in host (`lambda_sim_sdk::testing`).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use lambda_sim_sdk::{run, testing};

    #[test]
    fn prime_counts() {
        let cases = [
            (0, 0),
            (2, 0),
            (3, 1),
            (10, 4),
            (11, 4),
            (12, 5),
            (100, 25),
            (1_000_000, 78_498),
        ];
        for (limit, expected) in cases {
            assert_eq!(count_primes_below(limit), expected, "limit {limit}");
        }
    }

    #[test]
    fn hash_is_deterministic_and_depends_on_n() {
        assert_eq!(hash_chain(1000), hash_chain(1000));
        assert_ne!(hash_chain(1000), hash_chain(1001));
    }

    #[test]
    fn responses() {
        let inv = testing::invoke(br#"{"n": 100, "work": "primes"}"#, || run(cpu));
        assert_eq!(
            inv.json().unwrap(),
            serde_json::json!({"n": 100, "work": "primes", "primes": 25})
        );
        let inv = testing::invoke(b"{}", || run(cpu));
        let body = inv.json().unwrap();
        assert_eq!(body["n"], 10_000);
        assert_eq!(body["digest"].as_str().unwrap().len(), 16);
        let inv = testing::invoke(br#"{"work": "nope"}"#, || run(cpu));
        assert_eq!(inv.error.unwrap().error_type, "Runtime.UnmarshalError");
    }
}
