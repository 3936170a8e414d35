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

const CHILD_PAUSE: &str = "LEASH_STORE_TEST_PAUSE_BEFORE_EFFECT";

/// Not a test of its own: the agent loop's shape. Records that precede no
/// effect (`job.started`, `model.prompt`, `model.output`) are held, then the
/// decision and `command.started` are written as a group — which writes the
/// held records first, in the same transaction — and only then the effect.
/// With `CHILD_PAUSE` set, the child stops for good between the grouped write
/// and the effect, after saying so in the file it names.
#[test]
#[ignore = "child-process entry point for the held-records crash test"]
fn child_holds_groups_then_acts() {
    let (log, tag) = child_log();
    let effects = std::path::PathBuf::from(std::env::var(CHILD_EFFECTS).unwrap());
    let pause = std::env::var_os(CHILD_PAUSE).map(std::path::PathBuf::from);
    for i in 0u64.. {
        let id = format!("{tag}-{i}");
        for kind in [
            AuditKind::JobStarted,
            AuditKind::ModelPrompt,
            AuditKind::ModelOutput,
        ] {
            log.hold(Some(1), kind, json!({"id": id})).unwrap();
        }
        log.append_group(vec![
            AuditEntry::new(Some(1), AuditKind::CommandDecision, json!({"id": id})),
            AuditEntry::new(Some(1), AuditKind::CommandStarted, json!({"id": id})),
        ])
        .unwrap();
        if let Some(pause) = &pause {
            std::fs::write(pause, &id).unwrap();
            loop {
                std::thread::sleep(Duration::from_secs(60));
            }
        }
        std::fs::write(effects.join(&id), b"").unwrap();
    }
}

const HELD_GROUP: [&str; 5] = [
    "job.started",
    "model.prompt",
    "model.output",
    "command.decision",
    "command.started",
];

/// Every command's records: its held records and its group, adjacent and all
/// or nothing; returns the ids that have them.
fn held_groups(round: &str, records: &[AuditRecord]) -> std::collections::HashSet<String> {
    let mut ids = std::collections::HashSet::new();
    for group in records.chunks(HELD_GROUP.len()) {
        let kinds: Vec<&str> = group.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, HELD_GROUP, "{round}: a group was cut or reordered");
        let id = id_of(&group[0]).unwrap();
        for pair in group.windows(2) {
            assert_eq!(
                pair[1].seq,
                pair[0].seq + 1,
                "{round}: nothing between them"
            );
            assert_eq!(id_of(&pair[1]).as_deref(), Some(id.as_str()));
        }
        ids.insert(id);
    }
    ids
}

fn recovered_records(paths: &crate::support::Paths, round: &str) -> Vec<AuditRecord> {
    let report = verify_read_only(paths);
    assert!(report.ok, "{round}: after SIGKILL: {report:?}");
    let log = AuditLog::open(
        &paths.db,
        options(&paths.mirror, Durability::Fsync, ROTATE_BYTES),
    )
    .unwrap();
    assert!(log.verify().unwrap().ok, "{round}: after recovery");
    assert_gapless(&log);
    log.all()
        .unwrap()
        .into_iter()
        .filter(|r| HELD_GROUP.contains(&r.kind.as_str()))
        .collect()
}

/// The kill lands exactly between the grouped write and the effect (the
/// child waits there): the held records and the group are all durable, and
/// the effect did not happen.
#[test]
fn sigkill_between_the_grouped_write_and_the_effect_keeps_the_held_records() {
    let paths = paths();
    let effects = paths.db.parent().unwrap().join("effects");
    std::fs::create_dir_all(&effects).unwrap();
    let pause = paths.db.parent().unwrap().join("paused");
    let mut child = spawn_test_child(
        "group_crash::child_holds_groups_then_acts",
        &paths,
        "paused",
        &[
            (CHILD_EFFECTS, effects.as_os_str()),
            (CHILD_PAUSE, pause.as_os_str()),
        ],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let id = loop {
        if let Ok(id) = std::fs::read_to_string(&pause)
            && !id.is_empty()
        {
            break id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the child never wrote its group"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap(); // SIGKILL
    assert!(!child.wait().unwrap().success(), "the child must be killed");
    let records = recovered_records(&paths, "paused");
    let ids = held_groups("paused", &records);
    assert_eq!(ids, std::collections::HashSet::from([id]));
    assert_eq!(std::fs::read_dir(&effects).unwrap().count(), 0);
}

/// Killed at random moments (inside the write, between the write and the
/// effect, while holding): every effect has its held records and its group,
/// and a group with its held records is all or nothing.
#[test]
fn sigkill_at_random_never_leaves_an_effect_without_its_held_records() {
    let paths = paths();
    let effects = paths.db.parent().unwrap().join("effects");
    std::fs::create_dir_all(&effects).unwrap();
    for round in 0..6 {
        let mut child = spawn_test_child(
            "group_crash::child_holds_groups_then_acts",
            &paths,
            &format!("h{round}"),
            &[(CHILD_EFFECTS, effects.as_os_str())],
        );
        std::thread::sleep(Duration::from_millis(150 + random_below(250)));
        child.kill().unwrap(); // SIGKILL
        assert!(!child.wait().unwrap().success(), "the child must be killed");
        let name = format!("round {round}");
        let ids = held_groups(&name, &recovered_records(&paths, &name));
        for effect in std::fs::read_dir(&effects).unwrap() {
            let effect = effect.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                ids.contains(&effect),
                "{name}: effect {effect} happened but its records are not in the log"
            );
        }
    }
}
