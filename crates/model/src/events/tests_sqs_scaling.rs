//! Tests of the SQS event source mapping's poller scaling (5 → +300 per minute → 1,250 or `maximum_concurrency`,
//! backoff on failures, scale-down when idle, throttles), conservation and determinism of mixed runs, and a queue of
//! a million messages — with numbers, through the driver in `tests_sqs_sim`.

use std::collections::BTreeMap;

use super::sqs::*;
use super::tests_sqs_sim::*;

#[test]
fn pollers_start_at_5_and_add_300_per_minute_of_backlog_up_to_1250() {
    let mut sim = backlog(100_000, None, always(BatchResult::Success, 1_000 * S));
    assert_eq!((sim.sqs.concurrency(0), sim.invocations().len()), (5, 5));
    sim.run_until(59 * S);
    assert_eq!(sim.invocations().len(), 5);
    sim.run_until(60 * S);
    assert_eq!(
        (sim.sqs.concurrency(0), sim.invocations().len()),
        (305, 305)
    );
    sim.run_until(120 * S);
    assert_eq!(sim.sqs.concurrency(0), 605);
    sim.run_until(300 * S);
    assert_eq!(sim.sqs.concurrency(0), 1_250);
    assert_eq!(sim.sqs.in_flight_batches(0), 1_250);
    assert_eq!(sim.peak_running, 1_250);
}

#[test]
fn maximum_concurrency_caps_the_pollers() {
    let mut sim = backlog(10_000, Some(10), always(BatchResult::Success, 20 * S));
    assert_eq!(sim.sqs.concurrency(0), 5);
    sim.run_until(60 * S);
    assert_eq!(sim.sqs.concurrency(0), 10);
    sim.run_until(u64::MAX);
    assert_eq!(sim.peak_running, 10);
    assert_eq!(sim.sqs.counters(0).deleted, 10_000);
    assert_eq!(sim.sqs.mapping_counters(0).peak_concurrency, 10);
}

#[test]
fn whole_batch_failures_hold_the_pollers_back_unless_batch_item_failures_are_reported() {
    for (report, expected) in [(false, 5), (true, 305)] {
        let config = MappingConfig {
            report_batch_item_failures: report,
            ..mapping(0, 10)
        };
        let mut sim = Sim::new(
            vec![queue(30)],
            vec![config],
            None,
            always(BatchResult::Failed, S),
        );
        sim.send(0, 0, 100_000);
        sim.start(0);
        sim.run_until(60 * S);
        assert_eq!(sim.sqs.concurrency(0), expected, "report = {report}");
    }
}

#[test]
fn pollers_scale_down_when_idle_and_stop_their_timers() {
    let mut sim = backlog(6_000, None, always(BatchResult::Success, 30 * S));
    sim.run_until(61 * S);
    assert_eq!(sim.sqs.concurrency(0), 305);
    sim.run_until(u64::MAX);
    assert_eq!(sim.sqs.counters(0).deleted, 6_000);
    assert!(sim.queue.is_empty(), "no timer left once idle");
    let after_backlog = sim.sqs.concurrency(0);
    assert!(after_backlog < 305, "{after_backlog}");
    // Ten idle minutes later one message arrives: the pollers rested at 2, and a backlog gets 5 batches again.
    sim.send(sim.now + 600 * S, 0, 1);
    assert_eq!(sim.sqs.concurrency(0), 5);
    assert_eq!(sim.sqs.in_flight_batches(0), 1);
}

#[test]
fn throttles_lower_the_pollers_to_what_the_function_takes_and_messages_reappear_at_the_deadline() {
    // Reserved concurrency 10 (the driver throttles beyond it); visibility 30 s; 10 s handlers.
    let mut sim = Sim::new(
        vec![queue(30)],
        vec![mapping(0, 10)],
        Some(10),
        always(BatchResult::Success, 10 * S),
    );
    sim.send(0, 0, 100_000);
    sim.start(0);
    sim.run_until(59 * S);
    assert_eq!(sim.sqs.mapping_counters(0).throttled, 0);
    sim.run_until(60 * S);
    // At 60 s the target becomes 305: 5 more fit, 295 batches are throttled and the target drops to 10.
    assert_eq!(sim.sqs.mapping_counters(0).throttled, 295);
    assert_eq!(sim.sqs.concurrency(0), 10);
    assert_eq!(sim.peak_running, 10);
    sim.run_until(89 * S);
    let throttled_again = sim.sqs.mapping_counters(0).throttled;
    assert_eq!(
        throttled_again, 295,
        "no more throttles while the target fits"
    );
    // The throttled messages were received (count 1) and reappear at 60 + 30 s.
    assert!(
        sim.invocations()
            .iter()
            .all(|(t, m)| *t >= 90 * S || m.iter().all(|&(_, rc)| rc == 1))
    );
    sim.run_until(90 * S);
    assert!(
        sim.invocations()
            .iter()
            .any(|(t, m)| *t == 90 * S && m.iter().any(|&(_, rc)| rc == 2))
    );
    assert!(sim.sqs.counters(0).balanced());
}

fn mixed_run() -> (Vec<(u64, SqsAction)>, Vec<QueueCounters>) {
    let source = QueueConfig {
        max_receive_count: Some(3),
        dead_letter_queue: Some(1),
        ..queue(20)
    };
    let retained = QueueConfig {
        retention_ns: 400 * S,
        ..queue(20)
    };
    let mappings = vec![
        MappingConfig {
            report_batch_item_failures: true,
            batching_window_ns: 2 * S,
            ..mapping(0, 7)
        },
        MappingConfig {
            maximum_concurrency: Some(3),
            ..mapping(2, 4)
        },
    ];
    let policy: Policy = Box::new(|now, msgs: &[SqsMessageRef]| {
        let h = |x: u64| (x ^ now).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        if h(msgs[0].id) % 9 == 0 {
            return (BatchResult::Failed, 3 * S);
        }
        let failed: Vec<u64> = msgs
            .iter()
            .map(|m| m.id)
            .filter(|&id| h(id) % 4 == 0)
            .collect();
        (
            BatchResult::PartialFailure(failed),
            (h(msgs.len() as u64) % 8 + 1) * S,
        )
    });
    let mut sim = Sim::new(vec![source, queue(30), retained], mappings, Some(6), policy);
    sim.start(0);
    for i in 0..300 {
        sim.send(i * S, (i % 3 == 2) as usize * 2, 20);
    }
    sim.run_until(u64::MAX);
    let counters = (0..3).map(|q| *sim.sqs.counters(q)).collect();
    (sim.log, counters)
}

/// The message a final action of the queue a message was sent to (0 or 2) is about.
fn end_in_sent_queue(a: &SqsAction) -> Option<u64> {
    match *a {
        SqsAction::Deleted { message, queue, .. } | SqsAction::Expired { message, queue }
            if queue != 1 =>
        {
            Some(message)
        }
        SqsAction::Redriven { message, .. } => Some(message),
        _ => None,
    }
}

#[test]
fn mixed_runs_are_deterministic_and_every_message_ends_once() {
    let (log_a, counters_a) = mixed_run();
    let (log_b, counters_b) = mixed_run();
    assert_eq!(log_a, log_b);
    assert_eq!(counters_a, counters_b);
    let (src, dlq, other) = (counters_a[0], counters_a[1], counters_a[2]);
    assert!(
        counters_a.iter().all(QueueCounters::balanced),
        "{counters_a:?}"
    );
    assert_eq!(src.sent + other.sent, 6_000);
    assert!(
        src.redriven > 0 && other.expired > 0 && src.deleted > 0,
        "{counters_a:?}"
    );
    assert_eq!(
        dlq.expired, src.redriven,
        "nothing reads the DLQ: redriven messages expire there"
    );
    assert_eq!(
        (src.visible, src.in_flight, other.visible, other.in_flight),
        (0, 0, 0, 0)
    );
    // Each message ends exactly once in the queue it was sent to.
    let mut ends = BTreeMap::new();
    for message in log_a.iter().filter_map(|(_, a)| end_in_sent_queue(a)) {
        *ends.entry(message).or_insert(0) += 1;
    }
    assert_eq!(ends.len(), 6_000);
    assert!(ends.values().all(|&n| n == 1));
}

#[test]
fn a_million_messages_drain_with_one_timer_per_batch() {
    let mut sim = backlog(1_000_000, Some(1_000), always(BatchResult::Success, S));
    sim.keep_log = false;
    sim.run_until(u64::MAX);
    let c = *sim.sqs.counters(0);
    assert_eq!((c.deleted, c.visible, c.in_flight), (1_000_000, 0, 0));
    let m = *sim.sqs.mapping_counters(0);
    assert_eq!((m.batches, m.messages), (100_000, 1_000_000));
    // Timers: one visibility timer per batch plus a few scaling / retention timers, never one per message.
    assert!(
        sim.seq < 2 * m.batches + 100,
        "{} timers and completions",
        sim.seq
    );
}
