//! Concurrent appends: threads with separate connections (serialized by SQLite's
//! write lock, exactly as separate processes are) and threads sharing one handle.

use leash_store::AuditKind;
use std::collections::BTreeSet;
use std::sync::Arc;

use leash_store::{AuditLog, Durability};
use serde_json::json;

use crate::support::{assert_gapless, options, paths, verify_read_only};

const THREADS: u64 = 8;
const PER_THREAD: u64 = 1_000;

fn assert_every_append_landed_once(log: &AuditLog) {
    let all = log.all().unwrap();
    let seen: BTreeSet<(u64, u64)> = all
        .iter()
        .map(|r| {
            (
                r.payload["thread"].as_u64().unwrap(),
                r.payload["i"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen.len() as u64,
        THREADS * PER_THREAD,
        "an append was lost or duplicated"
    );
}

#[test]
fn eight_threads_with_their_own_connections_append_a_thousand_each() {
    let paths = paths();
    // Open once so the database and mirror exist before the threads race.
    drop(
        AuditLog::open(
            &paths.db,
            options(&paths.mirror, Durability::Batched, 64 * 1024),
        )
        .unwrap(),
    );
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let paths = &paths;
            scope.spawn(move || {
                let log = AuditLog::open(
                    &paths.db,
                    options(&paths.mirror, Durability::Batched, 64 * 1024),
                )
                .unwrap();
                for i in 0..PER_THREAD {
                    log.append(None, AuditKind::Notify, json!({"thread": thread, "i": i}))
                        .unwrap();
                }
            });
        }
    });
    let report = verify_read_only(&paths);
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records, THREADS * PER_THREAD);
    let log = AuditLog::open_read_only(&paths.db, Some(paths.mirror.clone())).unwrap();
    assert_eq!(assert_gapless(&log), THREADS * PER_THREAD);
    assert_every_append_landed_once(&log);
    let rotated = std::fs::read_dir(paths.mirror.parent().unwrap())
        .unwrap()
        .count();
    assert!(
        rotated > 2,
        "the mirror should have rotated under concurrent appends"
    );
}

#[test]
fn eight_threads_sharing_one_handle_append_a_thousand_each() {
    let paths = paths();
    let log = Arc::new(
        AuditLog::open(&paths.db, options(&paths.mirror, Durability::Batched, 0)).unwrap(),
    );
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let log = Arc::clone(&log);
            scope.spawn(move || {
                for i in 0..PER_THREAD {
                    log.append(
                        Some(1),
                        AuditKind::Notify,
                        json!({"thread": thread, "i": i}),
                    )
                    .unwrap();
                }
            });
        }
    });
    let report = log.verify().unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(assert_gapless(&log), THREADS * PER_THREAD);
    assert_every_append_landed_once(&log);
}

/// Group commit: threads sharing one handle with an fsync per transaction
/// share transactions instead of queueing for one each, and every group
/// stays contiguous.
#[test]
fn threads_sharing_a_handle_share_fsyncs_and_groups_stay_whole() {
    let paths = paths();
    let log =
        Arc::new(AuditLog::open(&paths.db, options(&paths.mirror, Durability::Fsync, 0)).unwrap());
    let threads = 8u64;
    let groups = 40u64;
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..groups {
                    let records = log
                        .append_group(vec![
                            leash_store::AuditEntry::new(
                                None,
                                AuditKind::CommandDecision,
                                json!({"t": thread, "i": i}),
                            ),
                            leash_store::AuditEntry::new(
                                None,
                                AuditKind::CommandStarted,
                                json!({"t": thread, "i": i}),
                            ),
                        ])
                        .unwrap();
                    assert_eq!(records.len(), 2);
                    assert_eq!(records[1].seq, records[0].seq + 1);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let total = threads * groups * 2;
    assert_eq!(assert_gapless(&log), total);
    let all = log.all().unwrap();
    for pair in all.chunks(2) {
        assert_eq!(
            (pair[0].kind.as_str(), pair[1].kind.as_str()),
            ("command.decision", "command.started")
        );
        assert_eq!(pair[0].payload, pair[1].payload, "a group was split");
    }
    let transactions = log.transactions_committed();
    eprintln!("group commit: {total} records in {transactions} transactions");
    assert!(
        transactions < threads * groups,
        "{transactions} transactions for {} groups from {threads} threads: none were shared",
        threads * groups
    );
    drop(log);
    assert!(verify_read_only(&paths).ok);
}
