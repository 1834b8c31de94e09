//! Spreading minute counts into arrival times, and selecting functions (trigger, top-N, seeded sample).

use std::io::Cursor;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::super::spread::{MINUTE_NS, slot_start};
use super::super::{
    AzureTraceError, FunctionKey, InvocationCountsReader, Spread, Trigger, reservoir_sample,
    sample_functions, spread, spread_day, top_n, with_triggers,
};
use super::{INVOCATIONS, fixture, invocations_header, invocations_row};

const RULES: [Spread; 3] = [Spread::Uniform, Spread::Poisson, Spread::EquallySpaced];

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

#[test]
fn every_rule_keeps_the_count_sorted_inside_its_minute() {
    for rule in RULES {
        for count in [0u32, 1, 2, 7, 1000, 60_001] {
            let minute = 1439;
            let times: Vec<u64> = spread(minute, count, rule, &mut rng(1)).collect();
            assert_eq!(times.len(), count as usize, "{rule:?}");
            assert!(
                times.windows(2).all(|w| w[0] <= w[1]),
                "{rule:?} not sorted"
            );
            let (lo, hi) = (minute * MINUTE_NS, (minute + 1) * MINUTE_NS);
            assert!(
                times.iter().all(|&t| (lo..hi).contains(&t)),
                "{rule:?} {count} outside the minute"
            );
        }
    }
}

#[test]
fn spreading_is_deterministic_from_the_seed() {
    for rule in [Spread::Uniform, Spread::Poisson] {
        let a: Vec<u64> = spread(3, 50, rule, &mut rng(42)).collect();
        let b: Vec<u64> = spread(3, 50, rule, &mut rng(42)).collect();
        let c: Vec<u64> = spread(3, 50, rule, &mut rng(43)).collect();
        assert_eq!(a, b, "{rule:?}");
        assert_ne!(a, c, "{rule:?} ignores the seed");
    }
    // Equally spaced draws nothing: the rng is left as it was.
    let mut r = rng(9);
    let _ = spread(0, 10, Spread::EquallySpaced, &mut r).count();
    let after: Vec<u64> = spread(0, 5, Spread::Poisson, &mut r).collect();
    let fresh: Vec<u64> = spread(0, 5, Spread::Poisson, &mut rng(9)).collect();
    assert_eq!(after, fresh);
}

#[test]
fn equally_spaced_is_exact_and_starts_on_the_minute() {
    let times: Vec<u64> = spread(2, 4, Spread::EquallySpaced, &mut rng(0)).collect();
    let s = 1_000_000_000;
    assert_eq!(times, [120 * s, 135 * s, 150 * s, 165 * s]);
    let one: Vec<u64> = spread(5, 1, Spread::EquallySpaced, &mut rng(0)).collect();
    assert_eq!(one, [300 * s]);
    // No overflow for the largest count a trace cell can hold.
    let n = u64::from(u32::MAX);
    assert!(slot_start(n - 1, n) < MINUTE_NS && slot_start(n, n) == MINUTE_NS);
}

/// Coefficient of variation of the gaps between consecutive times.
fn gap_cv(times: &[u64]) -> f64 {
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
    var.sqrt() / mean
}

#[test]
fn uniform_puts_one_arrival_per_slot_and_poisson_has_exponential_gaps() {
    let n = 10_000u32;
    let uniform: Vec<u64> = spread(0, n, Spread::Uniform, &mut rng(5)).collect();
    let slot = MINUTE_NS / u64::from(n);
    for (i, &t) in uniform.iter().enumerate() {
        assert_eq!(t / slot, i as u64, "arrival {i} outside its slot");
    }
    let poisson: Vec<u64> = spread(0, n, Spread::Poisson, &mut rng(5)).collect();
    let equal: Vec<u64> = spread(0, n, Spread::EquallySpaced, &mut rng(5)).collect();
    // Exponential gaps have CV 1; one uniform point per slot gives gaps
    // slot + U2 - U1, of CV 1/sqrt(6) ≈ 0.41; equal spacing 0.
    let (cu, cp, ce) = (gap_cv(&uniform), gap_cv(&poisson), gap_cv(&equal));
    assert!((0.95..1.05).contains(&cp), "poisson cv {cp}");
    assert!((0.37..0.45).contains(&cu), "uniform cv {cu}");
    assert!(ce < 1e-3, "equally spaced cv {ce}");
}

#[test]
fn a_fixture_day_spreads_into_its_total_in_order_minute_by_minute() {
    for row in fixture_rows().take(20) {
        let row = row.unwrap();
        for rule in RULES {
            let times: Vec<u64> = spread_day(&row.counts[..], rule, &mut rng(8)).collect();
            assert_eq!(times.len() as u64, row.total(), "{rule:?}");
            assert!(
                times.windows(2).all(|w| w[0] <= w[1]),
                "{rule:?} not sorted"
            );
            let mut per_minute = vec![0u32; row.counts.len()];
            for t in &times {
                per_minute[(t / MINUTE_NS) as usize] += 1;
            }
            assert_eq!(per_minute[..], row.counts[..], "{rule:?}");
            let again: Vec<u64> = spread_day(&row.counts[..], rule, &mut rng(8)).collect();
            assert_eq!(times, again);
        }
    }
}

#[test]
fn spread_names_round_trip() {
    for rule in RULES {
        assert_eq!(Spread::parse(rule.as_str()), Some(rule));
    }
    assert_eq!(Spread::parse("gaussian"), None);
}

fn fixture_rows() -> InvocationCountsReader<std::io::BufReader<std::fs::File>> {
    InvocationCountsReader::new(fixture(INVOCATIONS), INVOCATIONS).unwrap()
}

#[test]
fn top_n_matches_a_full_sort_of_the_fixture() {
    let mut all: Vec<(FunctionKey, u64)> = fixture_rows()
        .map(|r| r.map(|r| (FunctionKey::of(&r), r.total())))
        .collect::<Result<_, _>>()
        .unwrap();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for n in [0, 1, 5, 30, 60, 100] {
        let top = top_n(fixture_rows(), n).unwrap();
        assert_eq!(top, all[..n.min(all.len())], "n = {n}");
    }
}

#[test]
fn top_n_breaks_ties_by_key_whatever_the_file_order() {
    let rows = [
        invocations_row("o", "a", "f3", "http", &[(1, 5)]),
        invocations_row("o", "a", "f1", "http", &[(2, 5)]),
        invocations_row("o", "a", "f9", "http", &[(3, 9)]),
        invocations_row("o", "a", "f2", "http", &[(4, 5)]),
    ];
    let read = |order: &[usize]| {
        let mut text = invocations_header();
        for &i in order {
            text.push('\n');
            text.push_str(&rows[i]);
        }
        let r = InvocationCountsReader::new(Cursor::new(text.into_bytes()), "d.csv").unwrap();
        top_n(r, 3)
            .unwrap()
            .into_iter()
            .map(|(k, t)| (k.function, t))
            .collect::<Vec<_>>()
    };
    let expected = vec![
        ("f9".to_string(), 9),
        ("f1".to_string(), 5),
        ("f2".to_string(), 5),
    ];
    assert_eq!(read(&[0, 1, 2, 3]), expected);
    assert_eq!(read(&[3, 2, 1, 0]), expected);
    assert_eq!(read(&[2, 0, 3, 1]), expected);
}

#[test]
fn selection_stops_at_the_first_malformed_row() {
    let text = format!(
        "{}\n{}\no,a,broken\n",
        invocations_header(),
        invocations_row("o", "a", "f", "http", &[(1, 1)])
    );
    let r =
        || InvocationCountsReader::new(Cursor::new(text.clone().into_bytes()), "d.csv").unwrap();
    assert!(matches!(
        top_n(r(), 5),
        Err(AzureTraceError::ColumnCount { line: 3, .. })
    ));
    assert!(matches!(
        sample_functions(r(), 5, 1),
        Err(AzureTraceError::ColumnCount { line: 3, .. })
    ));
}

#[test]
fn with_triggers_keeps_only_those_groups() {
    let all: Vec<_> = fixture_rows().collect::<Result<_, _>>().unwrap();
    let picked: Vec<_> = with_triggers(fixture_rows(), &[Trigger::Timer, Trigger::Http])
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<_> = all
        .into_iter()
        .filter(|r| matches!(r.trigger, Trigger::Timer | Trigger::Http))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(picked, expected);
}

#[test]
fn sampling_is_seeded_in_file_order_and_bounded_by_the_input() {
    let a = sample_functions(fixture_rows(), 5, 11).unwrap();
    let b = sample_functions(fixture_rows(), 5, 11).unwrap();
    let c = sample_functions(fixture_rows(), 5, 12).unwrap();
    assert_eq!(a.len(), 5);
    assert_eq!(a, b);
    assert_ne!(a, c);
    let order: Vec<FunctionKey> = fixture_rows()
        .map(|r| FunctionKey::of(&r.unwrap()))
        .collect();
    let positions: Vec<usize> = a
        .iter()
        .map(|k| order.iter().position(|o| o == k).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "not in file order: {positions:?}"
    );
    // Asking for more than there is returns everything, in order.
    assert_eq!(sample_functions(fixture_rows(), 1000, 3).unwrap(), order);
    assert!(sample_functions(fixture_rows(), 0, 3).unwrap().is_empty());
}

#[test]
fn reservoir_sampling_is_uniform() {
    // 3 of 10 items over 3000 seeds: each item should be picked ~900 times.
    let mut picked = [0u32; 10];
    for seed in 0..3000 {
        for i in reservoir_sample(0..10usize, 3, &mut rng(seed)) {
            picked[i] += 1;
        }
    }
    assert!(
        picked.iter().all(|&p| (780..1020).contains(&p)),
        "{picked:?}"
    );
}
