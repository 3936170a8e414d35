//! The chain, the mirror, rotation, and the crash artifacts that open repairs
//! and verify tolerates — and nothing else.

use leash_store::AuditKind;
use std::io::Write;

use leash_store::{AuditLog, AuditRecord, Durability, GENESIS_HASH, RECOVERED_KIND, StoreError};
use serde_json::json;

use crate::support::{append_n, assert_gapless, open, options, paths, verify_read_only};

#[test]
fn records_chain_from_genesis_and_the_mirror_holds_their_canonical_lines() {
    let paths = paths();
    let log = open(&paths);
    let records = append_n(&log, 5);
    assert_eq!(records[0].prev_hash, GENESIS_HASH);
    for (index, pair) in records.windows(2).enumerate() {
        assert_eq!(pair[0].seq, index as u64 + 1);
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert!(pair[1].hash_is_valid());
    }
    let mirror = std::fs::read_to_string(&paths.mirror).unwrap();
    let lines: Vec<String> = records.iter().map(AuditRecord::to_canonical_json).collect();
    assert_eq!(mirror, format!("{}\n", lines.join("\n")));
    assert_eq!(log.all().unwrap(), records);
    assert_eq!(log.tail(2).unwrap(), records[3..]);
    assert_eq!(log.after(3).unwrap(), records[3..]);
    assert_eq!(log.tail(100).unwrap(), records);
    let report = log.verify().unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records, 5);
}

#[test]
fn empty_log_verifies() {
    let paths = paths();
    let report = verify_read_only(&paths);
    assert!(report.ok && report.records == 0, "{report:?}");
}

#[test]
fn log_without_a_mirror_verifies_its_database_chain() {
    let paths = paths();
    let log = AuditLog::open(&paths.db, Default::default()).unwrap();
    append_n(&log, 3);
    assert!(log.verify().unwrap().ok);
    rusqlite::Connection::open(&paths.db)
        .unwrap()
        .execute("UPDATE audit SET kind = 'forged' WHERE seq = 2", [])
        .unwrap();
    let report = log.verify().unwrap();
    assert_eq!(report.first_bad_seq, Some(2), "{report:?}");
}

#[test]
fn rotation_keeps_every_file_and_the_chain_continues_across_them() {
    let paths = paths();
    let log = AuditLog::open(&paths.db, options(&paths.mirror, Durability::Fsync, 1024)).unwrap();
    let records = append_n(&log, 40);
    let dir = paths.mirror.parent().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(
        names.len() >= 4,
        "expected several rotated files: {names:?}"
    );
    assert_eq!(names[0], "audit.log");
    assert_eq!(names[1], "audit.log.000001");
    // Each file stays under the limit, and file n+1's first record links to file n's last.
    let mut previous_last: Option<AuditRecord> = None;
    for name in names[1..].iter().chain(std::iter::once(&names[0])) {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(text.len() <= 1024, "{name} is {} bytes", text.len());
        let file_records: Vec<AuditRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if let Some(last) = &previous_last {
            assert_eq!(
                file_records[0].prev_hash, last.hash,
                "chain broken entering {name}"
            );
        }
        previous_last = file_records.last().cloned();
    }
    assert_eq!(previous_last.as_ref(), records.last());
    let report = verify_read_only(&paths);
    assert!(report.ok, "{report:?}");
}

/// The record the next append would write, built by hand.
fn next_record(log: &AuditLog) -> AuditRecord {
    let head = log.tail(1).unwrap().pop().unwrap();
    AuditRecord::seal(
        head.seq + 1,
        "2025-06-01T00:00:00Z".into(),
        None,
        "test.interrupted",
        json!({"was": "in flight"}),
        &head.hash,
    )
}

/// `verify` reports `seq` as the first bad one and `open` refuses the log there.
fn assert_refused_at(paths: &crate::support::Paths, seq: u64) {
    let report = verify_read_only(paths);
    assert_eq!(report.first_bad_seq, Some(seq), "{report:?}");
    let err = AuditLog::open(&paths.db, options(&paths.mirror, Durability::Fsync, 0)).unwrap_err();
    assert!(
        matches!(err, StoreError::MirrorDisagrees { seq: found, .. } if found == seq),
        "{err:?}"
    );
}

fn append_to_mirror(paths: &crate::support::Paths, bytes: &[u8]) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(&paths.mirror)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[test]
fn crash_artifact_mirror_one_record_ahead_is_tolerated_then_adopted() {
    let paths = paths();
    let log = open(&paths);
    append_n(&log, 3);
    let pending = next_record(&log);
    drop(log);
    append_to_mirror(
        &paths,
        format!("{}\n", pending.to_canonical_json()).as_bytes(),
    );

    let report = verify_read_only(&paths);
    assert!(report.ok, "{report:?}");
    assert!(
        report.notes.iter().any(|n| n.contains("one record ahead")),
        "{report:?}"
    );

    let log = open(&paths);
    let all = log.all().unwrap();
    assert_eq!(
        all[3], pending,
        "the interrupted record is adopted as written"
    );
    assert_eq!(all[4].kind, RECOVERED_KIND);
    assert_eq!(all[4].payload["seq"], 4);
    assert_eq!(assert_gapless(&log), 5);
    let report = log.verify().unwrap();
    assert!(
        report.ok && report.notes.iter().all(|n| !n.contains("ahead")),
        "{report:?}"
    );
}

#[test]
fn crash_artifact_partial_last_line_is_tolerated_then_cut() {
    let paths = paths();
    let log = open(&paths);
    append_n(&log, 3);
    let pending = next_record(&log).to_canonical_json();
    drop(log);
    append_to_mirror(&paths, &pending.as_bytes()[..pending.len() / 2]);

    let report = verify_read_only(&paths);
    assert!(report.ok, "{report:?}");
    assert!(
        report.notes.iter().any(|n| n.contains("partial")),
        "{report:?}"
    );

    let log = open(&paths);
    let all = log.all().unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[3].kind, RECOVERED_KIND);
    assert_eq!(all[3].payload["repair"], "partial_line_removed");
    let report = log.verify().unwrap();
    assert!(
        report.ok && report.notes.iter().all(|n| !n.contains("partial")),
        "{report:?}"
    );
}

#[test]
fn two_records_ahead_is_not_a_crash_and_is_refused() {
    let paths = paths();
    let log = open(&paths);
    append_n(&log, 2);
    let third = next_record(&log);
    let fourth = AuditRecord::seal(
        4,
        "2025-06-01T00:00:01Z".into(),
        None,
        "x",
        json!({}),
        &third.hash,
    );
    drop(log);
    append_to_mirror(
        &paths,
        format!(
            "{}\n{}\n",
            third.to_canonical_json(),
            fourth.to_canonical_json()
        )
        .as_bytes(),
    );
    assert_refused_at(&paths, 3);
}

#[test]
fn one_record_ahead_that_does_not_chain_is_refused() {
    let paths = paths();
    let log = open(&paths);
    append_n(&log, 2);
    let forged = AuditRecord::seal(
        3,
        "2025-06-01T00:00:00Z".into(),
        None,
        "x",
        json!({}),
        GENESIS_HASH,
    );
    drop(log);
    append_to_mirror(
        &paths,
        format!("{}\n", forged.to_canonical_json()).as_bytes(),
    );
    assert_refused_at(&paths, 3);
}

#[test]
fn mirror_behind_the_database_is_refused_not_repaired() {
    let paths = paths();
    let log = open(&paths);
    append_n(&log, 4);
    drop(log);
    let text = std::fs::read_to_string(&paths.mirror).unwrap();
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(&paths.mirror, format!("{}\n", kept.join("\n"))).unwrap();
    let err = AuditLog::open(&paths.db, options(&paths.mirror, Durability::Fsync, 0)).unwrap_err();
    assert!(
        matches!(err, StoreError::MirrorDisagrees { seq: 3, .. }),
        "{err:?}"
    );
    let report = verify_read_only(&paths);
    assert_eq!(report.first_bad_seq, Some(3), "{report:?}");
}

#[test]
fn a_mirror_configured_later_is_filled_from_the_database() {
    let paths = paths();
    let log = AuditLog::open(&paths.db, Default::default()).unwrap();
    let before = append_n(&log, 3);
    drop(log);
    // Before any leash writes with the mirror configured, verify says so.
    let report = verify_read_only(&paths);
    assert!(
        report.ok && report.notes.iter().any(|n| n.contains("not been started")),
        "{report:?}"
    );
    let log = open(&paths);
    log.append(None, AuditKind::Notify, json!({})).unwrap();
    let lines = std::fs::read_to_string(&paths.mirror).unwrap();
    assert_eq!(lines.lines().count(), 4);
    assert!(lines.starts_with(&before[0].to_canonical_json()));
    assert!(log.verify().unwrap().ok);
}

#[test]
fn a_started_mirror_whose_files_are_all_deleted_is_detected() {
    let paths = paths();
    let log = open(&paths);
    append_n(&log, 3);
    drop(log);
    std::fs::remove_file(&paths.mirror).unwrap();
    let report = verify_read_only(&paths);
    assert_eq!(report.first_bad_seq, Some(1), "{report:?}");
    let err = AuditLog::open(&paths.db, options(&paths.mirror, Durability::Fsync, 0)).unwrap_err();
    assert!(matches!(err, StoreError::MirrorMissing { .. }), "{err:?}");
}

#[test]
fn a_database_deleted_under_its_mirror_is_detected() {
    let paths = paths();
    let log = open(&paths);
    append_n(&log, 3);
    drop(log);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", paths.db.display()));
    }
    let report = verify_read_only(&paths);
    assert_eq!(report.first_bad_seq, Some(1), "{report:?}");
    assert_eq!(report.records, 0);
}

#[test]
fn read_only_handle_refuses_to_append() {
    let paths = paths();
    let log = AuditLog::open_read_only(&paths.db, None).unwrap();
    assert!(matches!(
        log.append(None, AuditKind::Notify, json!({})).unwrap_err(),
        StoreError::ReadOnly { .. }
    ));
    assert!(
        !paths.db.exists(),
        "inspecting must not create the database"
    );
}

#[test]
fn batched_durability_verifies_after_flush() {
    let paths = paths();
    let log = AuditLog::open(&paths.db, options(&paths.mirror, Durability::Batched, 0)).unwrap();
    append_n(&log, 100);
    log.flush().unwrap();
    drop(log);
    let report = verify_read_only(&paths);
    assert!(report.ok && report.records == 100, "{report:?}");
}

/// `n` records chained from the log's head, as one transaction writes them
/// (one timestamp).
fn chained_group(log: &AuditLog, n: u64) -> Vec<AuditRecord> {
    let head = log.tail(1).unwrap().pop().unwrap();
    let mut prev = head.hash.clone();
    (1..=n)
        .map(|i| {
            let record = AuditRecord::seal(
                head.seq + i,
                "2025-06-01T00:00:00Z".into(),
                None,
                "test.grouped",
                json!({"i": i}),
                &prev,
            );
            prev.clone_from(&record.hash);
            record
        })
        .collect()
}

fn lines_of(records: &[AuditRecord]) -> String {
    records
        .iter()
        .map(|r| format!("{}\n", r.to_canonical_json()))
        .collect()
}

#[test]
fn crash_artifact_mirror_one_group_ahead_is_tolerated_then_adopted() {
    let paths = paths();
    let log = open(&paths);
    append_n(&log, 3);
    let group = chained_group(&log, 3);
    drop(log);
    append_to_mirror(&paths, lines_of(&group).as_bytes());

    let report = verify_read_only(&paths);
    assert!(report.ok, "{report:?}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("3 records (one group) ahead")),
        "{report:?}"
    );
    let log = open(&paths);
    let all = log.all().unwrap();
    assert_eq!(all[3..6], group[..], "the group is adopted as written");
    assert_eq!(
        all.iter().filter(|r| r.kind == RECOVERED_KIND).count(),
        3,
        "each adoption is recorded"
    );
    assert!(log.verify().unwrap().ok);
}

#[test]
fn more_than_one_group_ahead_is_not_a_crash_and_is_refused() {
    let paths = paths();
    let log = open(&paths);
    append_n(&log, 2);
    let too_many = chained_group(&log, leash_store::MAX_GROUP_RECORDS as u64 + 1);
    drop(log);
    append_to_mirror(&paths, lines_of(&too_many).as_bytes());
    assert_refused_at(&paths, 3);
}

/// Regression class `audit-payload-respelled`: records written when the
/// decision, gate, origin and answer were strings (here appended as the
/// plain JSON they were) still verify and read back as typed payloads after
/// a reopen, and the typed writer stores exactly the payload the string
/// writer did, so old and new records sit in one chain.
#[test]
fn records_written_with_string_fields_verify_and_read_back_typed() {
    use leash_protocol::audit::{ApprovalAnswered, AuditPayload, CommandDecision};
    use leash_protocol::{ApprovalAnswer, Decision, GateOutcome, VerdictOrigin};

    let paths = paths();
    let log = open(&paths);
    let decided = json!({
        "argv": ["rm", "-rf", "x"], "cwd": "/w", "mode": "prompt", "decision": "deny",
        "rule": "seed.blacklist", "origin": "seed-list", "reason": "blacklisted",
        "program": "/usr/bin/rm", "identity": "rm", "gate": "refused",
        "outcome_unknown_before": false, "undo": null,
    });
    let answered = json!({"outcome": "answered", "answer": "no", "channel": "http", "by": "ana"});
    log.append(Some(1), AuditKind::CommandDecision, decided.clone())
        .unwrap();
    log.append(Some(1), AuditKind::ApprovalAnswered, answered.clone())
        .unwrap();
    let typed = CommandDecision::from_value(&decided).unwrap();
    log.append_typed(Some(2), &typed).unwrap();
    drop(log);

    let log = open(&paths);
    assert!(log.verify().unwrap().ok);
    assert!(verify_read_only(&paths).ok);
    let records = log.all().unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[2].payload, records[0].payload,
        "same JSON either way"
    );
    for record in [&records[0], &records[2]] {
        let read = record.payload_as::<CommandDecision>().unwrap();
        assert_eq!(
            (read.decision, read.gate, read.origin),
            (
                Decision::Deny,
                GateOutcome::Refused,
                Some(VerdictOrigin::SeedList)
            )
        );
    }
    let read = records[1].payload_as::<ApprovalAnswered>().unwrap();
    assert_eq!(read.answer, ApprovalAnswer::No);
}
