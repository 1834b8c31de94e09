//! Tests of the simulated SQS queues as the mapping sees them: batches, visibility timeout, redrive after
//! `maxReceiveCount`, the dead-letter queue's clocks, partial batch responses, retention, the batching window and
//! late results — with numbers, through the driver in `tests_sqs_sim`.

use super::sqs::*;
use super::tests_sqs_sim::*;

#[test]
fn a_successful_batch_deletes_all_its_messages() {
    let mut sim = Sim::new(
        vec![queue(30)],
        vec![mapping(0, 10)],
        None,
        always(BatchResult::Success, S),
    );
    sim.send(0, 0, 25);
    assert!(
        sim.invocations().is_empty(),
        "nothing is polled before start"
    );
    sim.start(0);
    let sizes: Vec<usize> = sim.invocations().iter().map(|(_, m)| m.len()).collect();
    assert_eq!(sizes, vec![10, 10, 5]);
    assert_eq!(sim.sqs.depth(0), (0, 25));
    sim.run_until(u64::MAX);
    assert_eq!(
        sim.count(|a| matches!(
            a,
            SqsAction::Deleted {
                receive_count: 1,
                sent_ns: 0,
                ..
            }
        )),
        25
    );
    let c = *sim.sqs.counters(0);
    assert_eq!(
        (c.sent, c.received, c.deleted, c.visible, c.in_flight),
        (25, 25, 25, 0, 0)
    );
    assert!(c.balanced());
    assert_eq!(sim.sqs.oldest_sent_ns(0), None);
    assert!(
        sim.queue.is_empty(),
        "an idle mapping leaves no timer behind"
    );
}

#[test]
fn a_failed_batch_reappears_at_its_visibility_deadline() {
    let mut sim = Sim::new(
        vec![queue(30)],
        vec![mapping(0, 10)],
        None,
        always(BatchResult::Failed, 2 * S),
    );
    sim.start(0);
    sim.send(S, 0, 1);
    sim.run_until(100 * S);
    // Received at 1 s, failed at 3 s, visible again at 1 + 30 s, and so on.
    let inv = sim.invocations();
    assert_eq!(
        inv[..4],
        [
            (S, vec![(0, 1)]),
            (31 * S, vec![(0, 2)]),
            (61 * S, vec![(0, 3)]),
            (91 * S, vec![(0, 4)])
        ]
    );
    assert_eq!(sim.sqs.oldest_sent_ns(0), Some(S));
    assert_eq!(sim.count(|a| matches!(a, SqsAction::Deleted { .. })), 0);
}

#[test]
fn a_message_is_redriven_after_exactly_max_receive_count_receives() {
    let source = QueueConfig {
        max_receive_count: Some(3),
        dead_letter_queue: Some(1),
        ..queue(30)
    };
    let dlq = QueueConfig {
        retention_ns: 14 * 24 * 3600 * S,
        ..queue(30)
    };
    let mut sim = Sim::new(
        vec![source, dlq],
        vec![
            mapping(0, 10),
            MappingConfig {
                function: 1,
                ..mapping(1, 10)
            },
        ],
        None,
        always(BatchResult::Failed, S),
    );
    sim.start(0);
    sim.send(0, 0, 1);
    sim.run_until(89 * S);
    assert_eq!(sim.sqs.depth(1), (0, 0));
    // Delivered 3 times (receive counts 1, 2, 3); at the 4th receive (90 s) it moves to the DLQ.
    sim.policy = always(BatchResult::Success, S);
    sim.run_until(200 * S);
    let source_receives: Vec<(u64, u32)> = sim
        .log
        .iter()
        .filter_map(|(t, a)| match a {
            SqsAction::InvokeBatch {
                mapping: 0,
                messages,
                ..
            } => Some((*t / S, messages[0].receive_count)),
            _ => None,
        })
        .collect();
    assert_eq!(source_receives, vec![(0, 1), (30, 2), (60, 3)]);
    let redriven: Vec<&(u64, SqsAction)> = sim
        .log
        .iter()
        .filter(|(_, a)| matches!(a, SqsAction::Redriven { .. }))
        .collect();
    assert_eq!(
        redriven,
        vec![&(
            90 * S,
            SqsAction::Redriven {
                queue: 0,
                message: 0,
                receive_count: 3,
                dead_letter_queue: 1
            }
        )]
    );
    // In the DLQ it keeps its id and send time, and starts a new receive count.
    let dlq_batch = sim.log.iter().find_map(|(t, a)| match a {
        SqsAction::InvokeBatch {
            mapping: 1,
            messages,
            ..
        } => Some((*t, messages[0])),
        _ => None,
    });
    assert_eq!(
        dlq_batch,
        Some((
            90 * S,
            SqsMessageRef {
                id: 0,
                receive_count: 1,
                sent_ns: 0,
                body_index: 0
            }
        ))
    );
    let (src, dl) = (*sim.sqs.counters(0), *sim.sqs.counters(1));
    assert_eq!((src.received, src.redriven, src.deleted), (3, 1, 0));
    assert_eq!((dl.redriven_in, dl.deleted), (1, 1));
    assert!(src.balanced() && dl.balanced());
}

#[test]
fn the_dead_letter_queue_counts_age_from_the_move_but_retention_from_the_send() {
    let source = QueueConfig {
        max_receive_count: Some(1),
        dead_letter_queue: Some(1),
        ..queue(30)
    };
    let dlq = QueueConfig {
        retention_ns: 100 * S,
        ..queue(30)
    };
    let mut sim = Sim::new(
        vec![source, dlq],
        vec![mapping(0, 10)],
        None,
        always(BatchResult::Failed, S),
    );
    sim.start(0);
    sim.send(0, 0, 1);
    sim.run_until(31 * S);
    assert_eq!(sim.sqs.depth(1), (1, 0));
    assert_eq!(sim.sqs.oldest_sent_ns(1), Some(30 * S));
    sim.run_until(u64::MAX);
    // Retention in the DLQ counts from the original send: it expires at 0 + 100 s, not 30 + 100 s.
    let expired = sim
        .log
        .iter()
        .find(|(_, a)| matches!(a, SqsAction::Expired { .. }));
    assert_eq!(
        expired,
        Some(&(
            100 * S,
            SqsAction::Expired {
                queue: 1,
                message: 0
            }
        ))
    );
}

#[test]
fn a_partial_batch_failure_deletes_the_rest_and_retries_only_the_failed_ids() {
    let config = MappingConfig {
        report_batch_item_failures: true,
        ..mapping(0, 10)
    };
    let mut sim = Sim::new(
        vec![queue(30)],
        vec![config],
        None,
        Box::new(|_, msgs: &[SqsMessageRef]| {
            let failed: Vec<u64> = msgs.iter().map(|m| m.id).filter(|&id| id == 2).collect();
            (BatchResult::PartialFailure(failed), 4 * S)
        }),
    );
    sim.send(0, 0, 5);
    sim.start(0);
    sim.run_until(10 * S);
    let deleted: Vec<u64> = sim
        .log
        .iter()
        .filter_map(|(t, a)| match a {
            SqsAction::Deleted { message, .. } if *t == 4 * S => Some(*message),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, vec![0, 1, 3, 4]);
    assert_eq!(sim.sqs.depth(0), (0, 1));
    sim.run_until(35 * S);
    assert_eq!(sim.invocations()[1], (30 * S, vec![(2, 2)]));
    assert_eq!(sim.sqs.mapping_counters(0).partially_failed, 2);
}

#[test]
fn a_partial_response_naming_an_unknown_id_fails_the_whole_batch_and_is_ignored_without_the_setting()
 {
    for (report, deleted_at_4s) in [(true, 0usize), (false, 3)] {
        let config = MappingConfig {
            report_batch_item_failures: report,
            ..mapping(0, 10)
        };
        let mut sim = Sim::new(
            vec![queue(30)],
            vec![config],
            None,
            always(BatchResult::PartialFailure(vec![999]), 4 * S),
        );
        sim.start(0);
        sim.send(0, 0, 3);
        sim.run_until(5 * S);
        assert_eq!(
            sim.count(|a| matches!(a, SqsAction::Deleted { .. })),
            deleted_at_4s,
            "report = {report}"
        );
    }
}

#[test]
fn waiting_messages_expire_when_their_retention_passes() {
    let config = QueueConfig {
        retention_ns: 60 * S,
        ..queue(30)
    };
    // No mapping reads this queue.
    let mut sim = Sim::new(vec![config], vec![], None, always(BatchResult::Success, S));
    sim.start(0);
    sim.send(0, 0, 2);
    sim.send(10 * S, 0, 1);
    assert_eq!(sim.sqs.oldest_sent_ns(0), Some(0));
    sim.run_until(u64::MAX);
    let expired: Vec<(u64, u64)> = sim
        .log
        .iter()
        .filter_map(|(t, a)| match a {
            SqsAction::Expired { message, .. } => Some((*t / S, *message)),
            _ => None,
        })
        .collect();
    assert_eq!(expired, vec![(60, 0), (60, 1), (70, 2)]);
    let c = sim.sqs.counters(0);
    assert_eq!((c.expired, c.visible), (3, 0));
    assert!(c.balanced());
}

#[test]
fn the_batching_window_waits_for_a_full_batch_or_for_the_window() {
    let config = MappingConfig {
        batching_window_ns: 5 * S,
        ..mapping(0, 10)
    };
    let mut sim = Sim::new(
        vec![queue(30)],
        vec![config],
        None,
        always(BatchResult::Success, S),
    );
    sim.start(0);
    sim.send(0, 0, 3);
    sim.send(2 * S, 0, 2);
    assert!(sim.invocations().is_empty());
    sim.run_until(9 * S);
    assert_eq!(sim.invocations().len(), 1);
    assert_eq!(
        (sim.invocations()[0].0, sim.invocations()[0].1.len()),
        (5 * S, 5)
    );
    sim.send(10 * S, 0, 12);
    let inv = sim.invocations();
    assert_eq!(
        (inv[1].0, inv[1].1.len()),
        (10 * S, 10),
        "a full batch does not wait"
    );
    sim.run_until(20 * S);
    let inv = sim.invocations();
    assert_eq!(
        (inv[2].0, inv[2].1.len()),
        (15 * S, 2),
        "the rest waits one window"
    );
}

#[test]
fn a_batch_running_past_its_visibility_deadline_lets_the_message_be_received_again() {
    // The first delivery takes 40 s (visibility 30 s), the second 1 s.
    let mut first = true;
    let policy: Policy = Box::new(move |_, _| {
        let d = if first { 40 * S } else { S };
        first = false;
        (BatchResult::Success, d)
    });
    let mut sim = Sim::new(vec![queue(30)], vec![mapping(0, 10)], None, policy);
    sim.start(0);
    sim.send(0, 0, 1);
    sim.run_until(u64::MAX);
    assert_eq!(
        sim.invocations(),
        vec![(0, vec![(0, 1)]), (30 * S, vec![(0, 2)])]
    );
    // The second batch deletes the message at 31 s; the first ends at 40 s with nothing left to delete.
    let deleted: Vec<&(u64, SqsAction)> = sim
        .log
        .iter()
        .filter(|(_, a)| matches!(a, SqsAction::Deleted { .. }))
        .collect();
    assert_eq!(
        deleted,
        vec![&(
            31 * S,
            SqsAction::Deleted {
                queue: 0,
                message: 0,
                sent_ns: 0,
                receive_count: 2
            }
        )]
    );
    assert!(sim.sqs.counters(0).balanced());
}

#[test]
fn a_late_success_deletes_visible_messages_no_one_received_since() {
    // A 300 s batching window: the messages wait 300 s for a batch, run 40 s with a 30 s visibility timeout, become
    // visible at 330 s and wait for the next window; the late success at 340 s deletes them (their receipt handles
    // are still the latest).
    let config = MappingConfig {
        batching_window_ns: 300 * S,
        ..mapping(0, 10)
    };
    let mut sim = Sim::new(
        vec![queue(30)],
        vec![config],
        None,
        always(BatchResult::Success, 40 * S),
    );
    sim.send(0, 0, 2);
    sim.start(0);
    sim.run_until(339 * S);
    assert_eq!(sim.invocations(), vec![(300 * S, vec![(0, 1), (1, 1)])]);
    assert_eq!(sim.sqs.depth(0), (2, 0));
    sim.run_until(u64::MAX);
    let c = *sim.sqs.counters(0);
    assert_eq!(
        (c.received, c.deleted, c.visible, c.in_flight),
        (2, 2, 0, 0)
    );
    assert_eq!(sim.count(|a| matches!(a, SqsAction::Deleted { .. })), 2);
    assert!(sim.queue.is_empty());
}
