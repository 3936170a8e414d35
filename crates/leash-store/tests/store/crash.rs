//! Real processes: children appending to the same log at once, and children
//! killed with SIGKILL in the middle of appending. The child is this very test
//! binary, re-executed to run the ignored entry point below.

use leash_store::AuditKind;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use leash_store::{AuditLog, Durability, RECOVERED_KIND};
use serde_json::json;

use crate::support::{assert_gapless, options, paths, verify_read_only};

pub(crate) const CHILD_DB: &str = "LEASH_STORE_TEST_CHILD_DB";
pub(crate) const CHILD_MIRROR: &str = "LEASH_STORE_TEST_CHILD_MIRROR";
const CHILD_COUNT: &str = "LEASH_STORE_TEST_CHILD_COUNT";
pub(crate) const CHILD_TAG: &str = "LEASH_STORE_TEST_CHILD_TAG";
/// Small, so that kills also land around rotations.
pub(crate) const ROTATE_BYTES: u64 = 4096;

/// In a child: the log its parent named, opened as leash opens it (fsync,
/// small rotation), and the child's tag.
pub(crate) fn child_log() -> (AuditLog, String) {
    let db = std::env::var(CHILD_DB).expect("run only as a child of the crash tests");
    let mirror = std::env::var(CHILD_MIRROR).unwrap();
    let log = AuditLog::open(
        Path::new(&db),
        options(Path::new(&mirror), Durability::Fsync, ROTATE_BYTES),
    )
    .unwrap();
    (log, std::env::var(CHILD_TAG).unwrap())
}

/// Re-executes this test binary to run the ignored entry point `test` with
/// the log of `paths`, the tag and `extra` environment.
pub(crate) fn spawn_test_child(
    test: &str,
    paths: &crate::support::Paths,
    tag: &str,
    extra: &[(&str, &std::ffi::OsStr)],
) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &paths.db)
        .env(CHILD_MIRROR, &paths.mirror)
        .env(CHILD_TAG, tag)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in extra {
        command.env(key, value);
    }
    command.spawn().unwrap()
}

/// Not a test of its own: the body of the child processes. It appends
/// `$CHILD_COUNT` records (0: until killed). Run only when re-executed.
#[test]
#[ignore = "child-process entry point for the crash and multi-process tests"]
fn child_appends() {
    let (log, tag) = child_log();
    let count: u64 = std::env::var(CHILD_COUNT).unwrap().parse().unwrap();
    let mut i = 0u64;
    while count == 0 || i < count {
        log.append(
            None,
            AuditKind::Notify,
            json!({"tag": tag, "i": i, "filler": "x".repeat((i % 7 * 40) as usize)}),
        )
        .unwrap();
        i += 1;
    }
}

fn spawn_child(paths: &crate::support::Paths, count: u64, tag: &str) -> Child {
    let count = count.to_string();
    spawn_test_child(
        "crash::child_appends",
        paths,
        tag,
        &[(CHILD_COUNT, std::ffi::OsStr::new(&count))],
    )
}

pub(crate) fn random_below(bound: u64) -> u64 {
    RandomState::new().hash_one(std::time::SystemTime::now()) % bound
}

#[test]
fn sigkill_in_the_middle_of_appending_leaves_a_chain_that_verifies() {
    let paths = paths();
    let rounds = 8;
    let mut tolerated_artifacts = 0;
    for round in 0..rounds {
        let mut child = spawn_child(&paths, 0, &format!("round{round}"));
        // Long enough for the child to start and append for a while; random so
        // the kill lands at a different point of an append each time.
        std::thread::sleep(Duration::from_millis(150 + random_below(250)));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "the child must have been killed, not finished"
        );

        // `leash audit verify` right after the crash: read-only, no recovery.
        let report = verify_read_only(&paths);
        assert!(
            report.ok,
            "round {round}: chain does not verify after SIGKILL: {report:?}"
        );
        if report
            .notes
            .iter()
            .any(|n| n.contains("partial") || n.contains("ahead"))
        {
            tolerated_artifacts += 1;
        }
        // Opening for append recovers; the result verifies with no artifacts left.
        let log = AuditLog::open(
            &paths.db,
            options(&paths.mirror, Durability::Fsync, ROTATE_BYTES),
        )
        .unwrap();
        let report = log.verify().unwrap();
        assert!(report.ok, "round {round}: after recovery: {report:?}");
        assert_gapless(&log);
    }
    let log = AuditLog::open_read_only(&paths.db, Some(paths.mirror.clone())).unwrap();
    let all = log.all().unwrap();
    let appended = all.iter().filter(|r| r.is(AuditKind::Notify)).count();
    let recoveries = all.iter().filter(|r| r.kind == RECOVERED_KIND).count();
    assert!(
        appended > rounds,
        "the children should have appended records ({appended})"
    );
    eprintln!(
        "crash simulation: {rounds} SIGKILLs, {appended} records appended, \
         {tolerated_artifacts} kills caught mid-append (mirror ahead or partial line), \
         {recoveries} recoveries recorded"
    );
}

#[test]
fn processes_appending_at_once_are_serialized() {
    let paths = paths();
    let children: Vec<Child> = (0..4)
        .map(|n| spawn_child(&paths, 150, &format!("p{n}")))
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report = verify_read_only(&paths);
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records, 600);
    let log = AuditLog::open_read_only(&paths.db, Some(paths.mirror.clone())).unwrap();
    assert_eq!(assert_gapless(&log), 600);
}
