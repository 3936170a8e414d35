//! Group commit under `kill -9`: a child process writes "decision + started"
//! as one group, then performs its effect (creates a file), over and over,
//! and is killed at a random moment — some kills land between the grouped
//! write and the effect, some inside the write. Whatever the moment, every
//! effect that happened has both of its records durable, and every group is
//! all or nothing. The child is this test binary, re-executed.

use leash_store::AuditKind;
use std::time::Duration;

use leash_store::{AuditEntry, AuditLog, AuditRecord, Durability};
use serde_json::json;

use crate::crash::{ROTATE_BYTES, child_log, random_below, spawn_test_child};
use crate::support::{assert_gapless, options, paths, verify_read_only};

const CHILD_EFFECTS: &str = "LEASH_STORE_TEST_GROUP_EFFECTS";

/// Not a test of its own: the body of the child process.
#[test]
#[ignore = "child-process entry point for the group crash test"]
fn child_groups_then_acts() {
    let (log, tag) = child_log();
    let effects = std::path::PathBuf::from(std::env::var(CHILD_EFFECTS).unwrap());
    for i in 0u64.. {
        let id = format!("{tag}-{i}");
        log.append_group(vec![
            AuditEntry::new(Some(1), AuditKind::CommandDecision, json!({"id": id})),
            AuditEntry::new(Some(1), AuditKind::CommandStarted, json!({"id": id})),
        ])
        .unwrap();
        // The effect, only after its group returned.
        std::fs::write(effects.join(&id), b"").unwrap();
    }
}

fn id_of(record: &AuditRecord) -> Option<String> {
    record.payload["id"].as_str().map(str::to_owned)
}

#[test]
fn sigkill_around_a_grouped_write_never_leaves_an_effect_without_its_records() {
    let paths = paths();
    let effects = paths.db.parent().unwrap().join("effects");
    std::fs::create_dir_all(&effects).unwrap();
    let rounds = 8;
    for round in 0..rounds {
        let mut child = spawn_test_child(
            "group_crash::child_groups_then_acts",
            &paths,
            &format!("r{round}"),
            &[(CHILD_EFFECTS, effects.as_os_str())],
        );
        std::thread::sleep(Duration::from_millis(150 + random_below(250)));
        child.kill().unwrap(); // SIGKILL
        assert!(!child.wait().unwrap().success(), "the child must be killed");

        let report = verify_read_only(&paths);
        assert!(report.ok, "round {round}: after SIGKILL: {report:?}");
        // Recovery adopts whatever group the mirror holds ahead.
        let log = AuditLog::open(
            &paths.db,
            options(&paths.mirror, Durability::Fsync, ROTATE_BYTES),
        )
        .unwrap();
        assert!(log.verify().unwrap().ok, "round {round}: after recovery");
        assert_gapless(&log);
        let records: Vec<AuditRecord> = log
            .all()
            .unwrap()
            .into_iter()
            .filter(|r| r.kind.starts_with("command."))
            .collect();
        // All or nothing: records come in adjacent decision/started pairs.
        for pair in records.chunks(2) {
            let [decision, started] = pair else {
                panic!("round {round}: a group was cut in half: {pair:?}");
            };
            assert_eq!(decision.kind, "command.decision");
            assert_eq!(started.kind, "command.started");
            assert_eq!(started.seq, decision.seq + 1, "nothing between them");
            assert_eq!(id_of(decision), id_of(started));
        }
        // Durable before the effect: every effect has its pair.
        let ids: std::collections::HashSet<String> = records.iter().filter_map(id_of).collect();
        for effect in std::fs::read_dir(&effects).unwrap() {
            let name = effect.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                ids.contains(&name),
                "round {round}: effect {name} happened but its records are not in the log"
            );
        }
    }
}
