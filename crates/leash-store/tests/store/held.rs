//! Held records (`AuditLog::hold`): kept in memory, written first in the
//! transaction of the next durable point, never on their own and never
//! unsynced.

use leash_store::AuditKind;
use leash_store::{AuditEntry, AuditLog, MAX_GROUP_RECORDS};
use serde_json::json;

use crate::support::{assert_gapless, open, paths, verify_read_only};

fn kinds(log: &AuditLog) -> Vec<String> {
    log.all().unwrap().into_iter().map(|r| r.kind).collect()
}

#[test]
fn held_records_cost_no_transaction_and_go_first_in_the_next_group() {
    let paths = paths();
    let log = open(&paths);
    log.hold(Some(1), AuditKind::JobStarted, json!({})).unwrap();
    log.hold(Some(1), AuditKind::ModelPrompt, json!({}))
        .unwrap();
    assert_eq!(log.transactions_committed(), 0, "holding writes nothing");
    assert_eq!(log.held(), 2);
    assert!(kinds(&log).is_empty(), "nothing is in the database yet");
    // Nor in the mirror: a held record is never written unsynced.
    assert_eq!(std::fs::read(&paths.mirror).unwrap_or_default().len(), 0);

    let mine = log
        .append_group(vec![
            AuditEntry::new(Some(1), AuditKind::CommandDecision, json!({})),
            AuditEntry::new(Some(1), AuditKind::CommandStarted, json!({})),
        ])
        .unwrap();
    assert_eq!(
        log.transactions_committed(),
        1,
        "one durable point for all four"
    );
    assert_eq!(log.held(), 0);
    // The caller gets its own records back, not the held ones.
    let mine: Vec<&str> = mine.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(mine, ["command.decision", "command.started"]);
    assert_eq!(
        kinds(&log),
        [
            "job.started",
            "model.prompt",
            "command.decision",
            "command.started"
        ]
    );
    assert_gapless(&log);
    assert!(verify_read_only(&paths).ok);
}

#[test]
fn flush_and_drop_write_what_is_held() {
    let paths = paths();
    let log = open(&paths);
    log.hold(Some(1), AuditKind::ModelOutput, json!({"n": 1}))
        .unwrap();
    log.flush().unwrap();
    assert_eq!(kinds(&log), ["model.output"]);
    log.hold(Some(1), AuditKind::ModelOutput, json!({"n": 2}))
        .unwrap();
    drop(log);
    let log = open(&paths);
    assert_eq!(kinds(&log), ["model.output", "model.output"]);
    assert!(log.verify().unwrap().ok);
}

#[test]
fn held_records_are_bounded_by_writing_them() {
    let paths = paths();
    let log = open(&paths);
    let bound = MAX_GROUP_RECORDS / 2;
    for i in 0..bound {
        log.hold(None, AuditKind::ModelPrompt, json!({"i": i}))
            .unwrap();
    }
    assert_eq!(
        log.held(),
        0,
        "the record that reached the bound wrote them all"
    );
    assert_eq!(log.transactions_committed(), 1);
    assert_eq!(kinds(&log).len(), bound);
}

/// A shared handle: one thread's held records are written by the next
/// durable point of any thread, before that thread's records.
#[test]
fn another_threads_durable_point_writes_held_records_too() {
    let paths = paths();
    let log = std::sync::Arc::new(open(&paths));
    log.hold(Some(1), AuditKind::ModelOutput, json!({}))
        .unwrap();
    let other = std::sync::Arc::clone(&log);
    std::thread::spawn(move || {
        other
            .append(Some(2), AuditKind::JobQueued, json!({}))
            .unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(kinds(&log), ["model.output", "job.queued"]);
}

#[test]
fn a_read_only_handle_refuses_to_hold() {
    let paths = paths();
    drop(open(&paths));
    let log = AuditLog::open_read_only(&paths.db, Some(paths.mirror.clone())).unwrap();
    assert!(log.hold(None, AuditKind::ModelPrompt, json!({})).is_err());
}
