//! Concurrent appends: threads with separate connections (serialized by SQLite's
//! write lock, exactly as separate processes are) and threads sharing one handle.

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
                    log.append(None, "test.concurrent", json!({"thread": thread, "i": i}))
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
                        "test.concurrent",
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
