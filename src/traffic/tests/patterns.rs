//! Open-loop patterns: counts and timing.

use super::{S, all, assert_poisson, count_in, one_phase, scenario, times};
use crate::scenario::{InvocationType, Target};

fn assert_sorted_within(times: &[u64], start: u64, end: u64) {
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "not sorted");
    assert!(
        times.iter().all(|&t| t >= start && t < end),
        "outside [{start}, {end})"
    );
}

#[test]
fn constant_is_evenly_spaced_from_the_start() {
    let t = times(&one_phase(10, "pattern = \"constant\"\nrate = 10"));
    assert_eq!(t.len(), 100);
    assert!(
        t.iter()
            .enumerate()
            .all(|(k, &t)| t == k as u64 * 100_000_000),
        "{:?}",
        &t[..5]
    );

    let t = times(&one_phase(
        60,
        "pattern = \"constant\"\nrate = 3\nstart = 5\nduration = 2",
    ));
    assert_eq!(
        t,
        [
            5 * S,
            5 * S + 333_333_333,
            5 * S + 666_666_667,
            6 * S,
            6 * S + 333_333_333,
            6 * S + 666_666_667
        ]
    );
}

#[test]
fn spike_without_window_is_all_at_the_start() {
    let a = all(&one_phase(
        60,
        "pattern = \"spike\"\ncount = 500\nstart = \"7s\"",
    ));
    assert_eq!(a.len(), 500);
    assert!(
        a.iter()
            .all(|a| a.time_ns == 7 * S && a.target == Target::Function(0) && a.user.is_none())
    );
}

#[test]
fn spike_with_window_is_uniform_and_sorted() {
    let t = times(&one_phase(
        60,
        "pattern = \"spike\"\ncount = 10000\nstart = 10\nwindow = \"2s\"",
    ));
    assert_eq!(t.len(), 10_000);
    assert_sorted_within(&t, 10 * S, 12 * S);
    // Binomial(10000, 1/4) per quarter: sd ≈ 43.
    for q in 0..4 {
        let from = 10.0 + q as f64 * 0.5;
        let n = count_in(&t, from, from + 0.5);
        assert!((n as i64 - 2500).abs() < 175, "quarter {q}: {n}");
    }
    // A window as long as the phase stays inside it.
    let t = times(&one_phase(
        2,
        "pattern = \"spike\"\ncount = 1000\nwindow = 2",
    ));
    assert_eq!(t.len(), 1000);
    assert_sorted_within(&t, 0, 2 * S);
}

#[test]
fn poisson_mean_rate() {
    let t = times(&one_phase(100, "pattern = \"poisson\"\nrate = 100"));
    assert_poisson(t.len(), 10_000.0, "poisson 100/s × 100 s");
    assert_sorted_within(&t, 0, 100 * S);
    // Exponential gaps: the fraction of gaps shorter than the mean is 1 − 1/e.
    let short =
        t.windows(2).filter(|w| w[1] - w[0] < 10_000_000).count() as f64 / (t.len() - 1) as f64;
    assert!((short - (1.0 - (-1.0f64).exp())).abs() < 0.02, "{short}");
}

#[test]
fn ramp_rate_grows_linearly() {
    // 0 → 100/s over 100 s: Λ(t) = t²/2, so the first half gets a quarter of the 5000 arrivals.
    let t = times(&one_phase(
        100,
        "pattern = \"ramp\"\nfrom_rate = 0\nto_rate = 100",
    ));
    assert_poisson(t.len(), 5000.0, "ramp total");
    assert_poisson(count_in(&t, 0.0, 50.0), 1250.0, "ramp first half");
    assert_poisson(count_in(&t, 90.0, 100.0), 950.0, "ramp last tenth");
    assert_sorted_within(&t, 0, 100 * S);

    // Downward: 100 → 0 gets three quarters in the first half, and stops when the rate reaches 0.
    let t = times(&one_phase(
        100,
        "pattern = \"ramp\"\nfrom_rate = 100\nto_rate = 0",
    ));
    assert_poisson(t.len(), 5000.0, "down ramp total");
    assert_poisson(count_in(&t, 0.0, 50.0), 3750.0, "down ramp first half");

    // Equal rates: a plain Poisson process.
    let t = times(&one_phase(
        100,
        "pattern = \"ramp\"\nfrom_rate = 20\nto_rate = 20",
    ));
    assert_poisson(t.len(), 2000.0, "flat ramp");
}

#[test]
fn step_rates_hold_until_the_next_step() {
    let t = times(&one_phase(
        100,
        "pattern = \"step\"\nstart = 10\nduration = 60\nsteps = [{ at = 5, rate = 10 }, { at = 20, rate = 100 }, { at = 40, rate = 0 }, { at = 50, rate = 1 }]",
    ));
    assert_eq!(count_in(&t, 10.0, 15.0), 0, "before the first step");
    assert_poisson(count_in(&t, 15.0, 30.0), 150.0, "10/s for 15 s");
    assert_poisson(count_in(&t, 30.0, 50.0), 2000.0, "100/s for 20 s");
    assert_eq!(count_in(&t, 50.0, 60.0), 0, "rate 0");
    assert_poisson(count_in(&t, 60.0, 70.0), 10.0, "1/s for 10 s");
    assert_sorted_within(&t, 10 * S, 70 * S);
}

#[test]
fn sine_follows_the_curve() {
    // mean 50, amplitude 50, period 100 s: first half ∫ = 2500 + 5000/π, second half 2500 − 5000/π.
    let t = times(&one_phase(
        100,
        "pattern = \"sine\"\nmean_rate = 50\namplitude = 50\nperiod = 100",
    ));
    let bump = 5000.0 / std::f64::consts::PI;
    assert_poisson(count_in(&t, 0.0, 50.0), 2500.0 + bump, "sine first half");
    assert_poisson(count_in(&t, 50.0, 100.0), 2500.0 - bump, "sine second half");

    // Amplitude above the mean: the rate is clamped at 0 (no arrivals where mean + amp·sin < 0).
    let t = times(&one_phase(
        100,
        "pattern = \"sine\"\nmean_rate = 10\namplitude = 20\nperiod = 100",
    ));
    let expected: f64 = (0..100_000)
        .map(|i| {
            let x = (i as f64 + 0.5) / 1000.0;
            (10.0 + 20.0 * (std::f64::consts::TAU * x / 100.0).sin()).max(0.0) / 1000.0
        })
        .sum();
    assert_poisson(t.len(), expected, "clamped sine");
    // sin < −1/2 on (7/12, 11/12) of the period.
    assert_eq!(count_in(&t, 58.4, 91.6), 0, "clamped stretch");
}

#[test]
fn phases_merge_in_time_order_with_ties_by_phase() {
    let s = scenario(
        "duration = 10",
        "[[traffic]]\nfunction = \"worker\"\npattern = \"constant\"\nrate = 2\n\n\
         [[traffic]]\nfunction = \"api\"\npattern = \"constant\"\nrate = 4\n\n\
         [[traffic]]\nfunction = \"api\"\npattern = \"poisson\"\nrate = 50\nstart = 2\nduration = 3",
    );
    let a = all(&s);
    assert!(a.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
    assert_eq!(
        a.iter().filter(|a| a.target == Target::Function(1)).count(),
        20
    );
    // At t = 0 and every 0.5 s both constant phases arrive together: phase 0 (worker) first.
    for w in a
        .windows(2)
        .filter(|w| w[0].time_ns == w[1].time_ns && w[0].time_ns % (S / 2) == 0)
    {
        assert_eq!(
            (w[0].target, w[1].target),
            (Target::Function(1), Target::Function(0)),
            "tie at {}",
            w[0].time_ns
        );
    }
    let poisson = a.iter().filter(|a| a.time_ns % (S / 4) != 0).count();
    assert_poisson(poisson, 150.0, "poisson phase");
}

#[test]
fn phase_end_is_exclusive_and_clipped_to_the_simulation() {
    let t = times(&one_phase(
        5,
        "pattern = \"constant\"\nrate = 1\nstart = 2\nduration = 60",
    ));
    assert_eq!(t, [2 * S, 3 * S, 4 * S]);
}

#[test]
fn peek_matches_pop() {
    let s = one_phase(10, "pattern = \"poisson\"\nrate = 20");
    let mut g = super::TrafficGenerator::new(&s).unwrap();
    while let Some(t) = g.peek_time() {
        assert_eq!(g.pop().unwrap().time_ns, t);
    }
    assert!(g.pop().is_none());
    assert!(g.replay_error().is_none());
}

#[test]
fn arrivals_carry_their_phase_target_and_invocation_type() {
    let s = scenario(
        "duration = 10",
        "[[queue]]\nname = \"orders\"\n\n\
         [[traffic]]\nqueue = \"orders\"\npattern = \"constant\"\nrate = 1\npayload = '{\"order\":7}'\n\n\
         [[traffic]]\nfunction = \"worker\"\ninvocation = \"event\"\npattern = \"constant\"\nrate = 2\n\n\
         [[traffic]]\nfunction = \"api\"\npattern = \"constant\"\nrate = 1",
    );
    let a = all(&s);
    let count = |target, invocation| {
        a.iter()
            .filter(|a| a.target == target && a.invocation == invocation)
            .count()
    };
    assert_eq!(count(Target::Queue(0), InvocationType::RequestResponse), 10);
    assert_eq!(count(Target::Function(1), InvocationType::Event), 20);
    assert_eq!(
        count(Target::Function(0), InvocationType::RequestResponse),
        10
    );
    assert_eq!(a.len(), 40);
    assert!(
        a.iter()
            .filter(|a| a.target == Target::Queue(0))
            .all(|a| &a.payload[..] == br#"{"order":7}"#)
    );
}
