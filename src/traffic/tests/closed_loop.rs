//! Closed-loop virtual users.

use std::collections::HashMap;

use super::{S, assert_poisson, one_phase};
use crate::traffic::{TrafficGenerator, UserId};

/// Runs a closed loop in which every response takes `latency_ns`; returns the arrivals as (time, user).
fn run(body: &str, seconds: u64, latency_ns: u64) -> Vec<(u64, UserId)> {
    let s = one_phase(seconds, body);
    let mut g = TrafficGenerator::new(&s).unwrap();
    let mut in_flight: Vec<(u64, UserId)> = Vec::new();
    let mut out = Vec::new();
    loop {
        // Deliver responses due before the next arrival (a tiny discrete-event loop).
        in_flight.sort();
        let next_arrival = g.peek_time();
        match (in_flight.first().copied(), next_arrival) {
            (Some((done, user)), Some(t)) if done <= t => {
                in_flight.remove(0);
                g.on_response(user, done);
            }
            (Some((done, user)), None) => {
                in_flight.remove(0);
                g.on_response(user, done);
            }
            (_, Some(_)) => {
                let a = g.pop().unwrap();
                let user = a.user.expect("closed-loop arrivals carry their user");
                out.push((a.time_ns, user));
                in_flight.push((a.time_ns + latency_ns, user));
            }
            (None, None) => return out,
        }
    }
}

#[test]
fn all_users_start_at_the_phase_start() {
    let s = one_phase(60, "pattern = \"closed_loop\"\nusers = 5\nstart = 3");
    let mut g = TrafficGenerator::new(&s).unwrap();
    let first: Vec<_> = std::iter::from_fn(|| g.pop()).collect();
    assert_eq!(
        first.len(),
        5,
        "without responses, each user sends exactly one request"
    );
    for (i, a) in first.iter().enumerate() {
        assert_eq!(a.time_ns, 3 * S);
        assert_eq!(
            a.user,
            Some(UserId {
                phase: 0,
                user: i as u32
            })
        );
    }
    assert_eq!(g.peek_time(), None);
}

#[test]
fn think_zero_sends_again_when_the_response_arrives() {
    let arrivals = run("pattern = \"closed_loop\"\nusers = 3", 1, 100_000_000);
    assert_eq!(arrivals.len(), 30);
    let mut per_user: HashMap<u32, Vec<u64>> = HashMap::new();
    for (t, u) in arrivals {
        per_user.entry(u.user).or_default().push(t);
    }
    for times in per_user.values() {
        assert_eq!(times, &(0..10).map(|k| k * 100_000_000).collect::<Vec<_>>());
    }
}

#[test]
fn instant_responses_with_think_time() {
    // Response at once, think 250 ms: requests at 0, 0.25, 0.5, 0.75 s.
    let arrivals = run(
        "pattern = \"closed_loop\"\nusers = 2\nthink_time_ms = { distribution = \"constant\", value = 250 }",
        1,
        0,
    );
    let times: Vec<u64> = arrivals.iter().map(|a| a.0).collect();
    let step = 250_000_000;
    assert_eq!(
        times,
        [0, 0, step, step, 2 * step, 2 * step, 3 * step, 3 * step]
    );
}

#[test]
fn no_request_at_or_after_the_phase_end() {
    let arrivals = run(
        "pattern = \"closed_loop\"\nusers = 1\nduration = 1\nthink_time_ms = { distribution = \"constant\", value = 500 }",
        10,
        0,
    );
    // 0, then 0.5; the next would be at exactly 1 s = the end.
    assert_eq!(arrivals.iter().map(|a| a.0).collect::<Vec<_>>(), [0, S / 2]);
}

#[test]
fn exponential_think_time_throughput() {
    // Each cycle: 50 ms response + mean 450 ms think = 0.5 s; 10 users over 100 s ≈ 2000 requests.
    let arrivals = run(
        "pattern = \"closed_loop\"\nusers = 10\nthink_time_ms = { distribution = \"exponential\", mean = 450 }",
        100,
        50_000_000,
    );
    assert_poisson(arrivals.len(), 2000.0, "closed loop");
}

#[test]
fn unknown_users_are_ignored() {
    let s = one_phase(60, "pattern = \"poisson\"\nrate = 1");
    let mut g = TrafficGenerator::new(&s).unwrap();
    let before = g.peek_time();
    g.on_response(UserId { phase: 0, user: 0 }, 0); // an open-loop phase
    g.on_response(UserId { phase: 7, user: 0 }, 0); // no such phase
    assert_eq!(g.peek_time(), before);
    let s = one_phase(60, "pattern = \"closed_loop\"\nusers = 1");
    let mut g = TrafficGenerator::new(&s).unwrap();
    g.pop();
    g.on_response(UserId { phase: 0, user: 1 }, 0); // no such user
    assert_eq!(g.peek_time(), None);
}
