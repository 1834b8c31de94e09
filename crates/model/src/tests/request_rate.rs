//! The request-rate limit: 10 synchronous requests per second per execution environment a function may have.

use super::*;

fn ok_count(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::ColdStart { .. } | Action::RunWarm { .. }))
        .count()
}

/// Sends `n` requests of `mode`, `gap_ns` apart from `from_ns`, each finishing as soon as it starts; returns how
/// many ran and the (reason, cause) of each throttle.
fn drive(
    p: &mut Platform,
    from_ns: u64,
    gap_ns: u64,
    n: u64,
    mode: InvokeMode,
) -> (usize, Vec<(ThrottleReason, ThrottleCause)>) {
    let mut admitted = 0;
    let mut throttled = Vec::new();
    for i in 0..n {
        let t = from_ns + i * gap_ns;
        p.invoke(t, 0, from_ns + i, mode);
        for a in drain(p) {
            match a {
                Action::ColdStart { sandbox, .. } | Action::RunWarm { sandbox, .. } => {
                    admitted += 1;
                    p.invocation_finished(t, sandbox, false);
                    drain(p);
                }
                Action::Throttle { reason, cause, .. } => throttled.push((reason, cause)),
                _ => {}
            }
        }
    }
    (admitted, throttled)
}

#[test]
fn a_reserved_function_serves_at_most_10_requests_per_second_per_reserved_environment() {
    let mut p = Platform::new(
        account(1000),
        vec![FunctionRules {
            reserved: Some(5),
            ..rules()
        }],
        1,
    );
    // One request every 10 ms (100/s) finishing at once: concurrency 1, but 2× the limit of 10 × 5 = 50/s.
    let (admitted, throttled) = drive(&mut p, 0, 10_000_000, 1000, InvokeMode::Synchronous);
    // 10 s: the first second's worth (50) plus 50/s for the 9.99 s after it.
    assert_eq!(admitted, 50 + 499, "{throttled:?}");
    assert_eq!(throttled.len(), 1000 - admitted);
    assert!(throttled.iter().all(|&r| r
        == (
            ThrottleReason::ReservedFunctionInvocationRateLimitExceeded,
            ThrottleCause::RequestRate
        )));
}

#[test]
fn an_unreserved_function_is_limited_by_10_times_the_unreserved_pool() {
    // Account 100, nothing reserved: the pool is 100 environments, so 1,000 requests at one instant pass the rate
    // limit (the first 100 run, 900 find no concurrency left) and the 1,001st does not.
    let mut p = Platform::new(account(100), vec![rules()], 1);
    let actions = burst(&mut p, 0, 0, 1001);
    let t = throttles(&actions);
    assert_eq!(ok_count(&actions), 100);
    assert_eq!(
        t.iter()
            .filter(|r| r.1 == ThrottleCause::Concurrency)
            .count(),
        900
    );
    assert_eq!(
        t.iter()
            .filter(|r| r.1 == ThrottleCause::RequestRate)
            .count(),
        1
    );
    assert_eq!(
        t.last(),
        Some(&(
            ThrottleReason::FunctionInvocationRateLimitExceeded,
            ThrottleCause::RequestRate
        ))
    );
}

#[test]
fn asynchronous_invocations_and_a_lifted_limit_are_not_rate_limited() {
    let reserved = FunctionRules {
        reserved: Some(1),
        ..rules()
    };
    for (mode, limit) in [
        (InvokeMode::Asynchronous, Some(10)),
        (InvokeMode::Synchronous, None),
    ] {
        let mut p = Platform::new(
            Account {
                requests_per_environment: limit,
                ..account(1000)
            },
            vec![reserved.clone()],
            1,
        );
        let (admitted, _) = drive(&mut p, 0, 1_000_000, 100, mode);
        assert_eq!(admitted, 100, "{mode:?} {limit:?}");
    }
}

#[test]
fn changing_reserved_concurrency_changes_the_rate_limit() {
    let mut p = Platform::new(
        account(1000),
        vec![FunctionRules {
            reserved: Some(1),
            ..rules()
        }],
        1,
    );
    let run = |p: &mut Platform, from: u64, n: u64| {
        drive(p, from, 1_000_000, n, InvokeMode::Synchronous).0
    };
    // 100 requests in 100 ms at a limit of 10/s: the bucket's 10, plus 1 refilled.
    assert_eq!(run(&mut p, 0, 100), 10);
    p.set_reserved(0, Some(100)).unwrap();
    // From 10 s on the bucket refills at 1,000/s towards 1,000: 100 requests in 100 ms all pass.
    assert_eq!(run(&mut p, 10 * S, 100), 100);
}

#[test]
fn a_function_with_provisioned_concurrency_is_held_to_10_per_allocated_environment() {
    let mut p = Platform::new(
        account(1000),
        vec![FunctionRules {
            provisioned: 2,
            allocation_delay_ns: 0,
            ..rules()
        }],
        1,
    );
    // Allocate both provisioned environments and make them ready.
    p.start(0);
    let mut pending: Vec<Action> = drain(&mut p);
    while let Some(a) = pending.pop() {
        match a {
            Action::SetTimer { at_ns, timer } => p.timer(at_ns, timer),
            Action::Provision { sandbox, .. } => p.sandbox_ready(0, sandbox, true),
            _ => {}
        }
        pending.extend(drain(&mut p));
    }
    assert_eq!(p.provisioned_status(0).1, 2);
    // 100 requests a second for 2 s, each done at once: 10 × 2 = 20 a second pass (a second's worth at once).
    let (admitted, reasons) = drive(&mut p, S, 10_000_000, 200, InvokeMode::Synchronous);
    assert_eq!(admitted, 20 + 39, "{reasons:?}");
    assert!(reasons.iter().all(|&r| r
        == (
            ThrottleReason::FunctionInvocationRateLimitExceeded,
            ThrottleCause::RequestRate
        )));
}
