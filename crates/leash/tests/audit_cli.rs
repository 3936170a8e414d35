//! `leash audit tail|verify|export` run as real processes against a log written
//! with the library, in a controlled environment (cleared; HOME and XDG dirs in
//! a temp dir; a config file that sets `logging.audit_log`). Every tamper case
//! must make `leash audit verify` exit 1 and name the first bad seq.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use leash_store::AuditKind;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use leash_config::{EnvVars, LeashPaths};
use leash_store::{AuditLog, AuditOptions, AuditRecord, Durability, canonical_json};
use rstest::rstest;
use serde_json::json;
use tempfile::TempDir;

/// Records written by [`Fixture::with_records`].
const RECORDS: u64 = 30;
/// Small, so the 30 records span several rotated mirror files.
const ROTATE_BYTES: u64 = 1500;

struct Fixture {
    dir: TempDir,
    config: PathBuf,
    db: PathBuf,
    mirror: PathBuf,
}

impl Fixture {
    fn env(dir: &Path) -> Vec<(String, String)> {
        [
            ("HOME", "home"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_CACHE_HOME", "cache"),
        ]
        .into_iter()
        .map(|(var, sub)| (var.to_owned(), dir.join(sub).display().to_string()))
        .collect()
    }

    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("logs").join("audit.log");
        let config = dir.path().join("leash.yaml");
        std::fs::write(
            &config,
            format!("logging:\n  audit_log: \"{}\"\n", mirror.display()),
        )
        .unwrap();
        // The database is where the config crate says, for this environment.
        let db = LeashPaths::from_env(&EnvVars::from_pairs(Fixture::env(dir.path())))
            .unwrap()
            .database_file();
        Fixture {
            dir,
            config,
            db,
            mirror,
        }
    }

    /// A fixture whose log holds [`RECORDS`] records, mirrored and rotated.
    fn with_records() -> Fixture {
        let fixture = Fixture::new();
        let log = fixture.open_log();
        for i in 0..RECORDS {
            log.append(
                Some(1),
                AuditKind::Notify,
                json!({"i": i, "argv": ["ls", "-la"], "decision": "allow"}),
            )
            .unwrap();
        }
        fixture
    }

    fn open_log(&self) -> AuditLog {
        AuditLog::open(
            &self.db,
            AuditOptions {
                mirror: Some(self.mirror.clone()),
                durability: Durability::Fsync,
                rotate_bytes: ROTATE_BYTES,
            },
        )
        .unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_leash"));
        command
            .env_clear()
            .envs(Fixture::env(self.dir.path()))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null());
        command
    }

    fn leash(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn sql(&self, sql: &str) {
        rusqlite::Connection::open(&self.db)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }

    fn record(&self, seq: u64) -> AuditRecord {
        AuditLog::open_read_only(&self.db, None)
            .unwrap()
            .all()
            .unwrap()
            .into_iter()
            .find(|r| r.seq == seq)
            .unwrap()
    }

    fn rotated(&self, number: u64) -> PathBuf {
        PathBuf::from(format!("{}.{number:06}", self.mirror.display()))
    }

    /// The seq of the first record in a mirror file.
    fn first_seq_in(&self, file: &Path) -> u64 {
        let text = std::fs::read_to_string(file).unwrap();
        let first: AuditRecord = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        first.seq
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn untouched_log_verifies() {
    let fixture = Fixture::with_records();
    assert!(
        fixture.rotated(2).exists(),
        "the fixture should span rotated files"
    );
    let output = fixture.leash(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        text(&output).contains(&format!("OK: {RECORDS} record(s)")),
        "{}",
        text(&output)
    );

    let output = fixture.leash(&["audit", "verify", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["records"], RECORDS);
    assert_eq!(report["first_bad_seq"], serde_json::Value::Null);
}

// --- tamper cases: each edits the log and returns the seq verify must name ---

fn edit_payload_in_database(f: &Fixture) -> u64 {
    f.sql(r#"UPDATE audit SET payload = '{"argv":["rm","-rf","/"],"decision":"allow","i":4}' WHERE seq = 5"#);
    5
}

fn edit_hash_in_database(f: &Fixture) -> u64 {
    f.sql(&format!(
        "UPDATE audit SET hash = '{}' WHERE seq = 7",
        "a".repeat(64)
    ));
    7
}

fn delete_record_from_database(f: &Fixture) -> u64 {
    f.sql("DELETE FROM audit WHERE seq = 9");
    9
}

/// A forged record slipped in at seq 6, correctly chained to seq 5, with the
/// later records renumbered to make room.
fn insert_record_into_database(f: &Fixture) -> u64 {
    let before = f.record(5);
    let forged = AuditRecord::seal(
        6,
        before.ts.clone(),
        Some(1),
        "test.event",
        json!({"forged": true}),
        &before.hash,
    );
    f.sql(
        "UPDATE audit SET seq = -seq WHERE seq >= 6; UPDATE audit SET seq = 1 - seq WHERE seq < 0;",
    );
    f.sql(&format!(
        "INSERT INTO audit (seq, ts, job_id, kind, payload, prev_hash, hash) \
         VALUES (6, '{}', 1, 'test.event', '{}', '{}', '{}')",
        forged.ts,
        canonical_json(&forged.payload),
        forged.prev_hash,
        forged.hash
    ));
    6
}

/// Records 11 and 12 trade places (each keeps its own contents and hash).
fn swap_two_records_in_database(f: &Fixture) -> u64 {
    f.sql(
        "UPDATE audit SET seq = -1 WHERE seq = 11; \
         UPDATE audit SET seq = 11 WHERE seq = 12; \
         UPDATE audit SET seq = 12 WHERE seq = -1;",
    );
    11
}

/// An appended, perfectly chained forgery in the database alone: only the
/// mirror can tell.
fn append_forged_record_to_database(f: &Fixture) -> u64 {
    let head = f.record(RECORDS);
    let forged = AuditRecord::seal(
        RECORDS + 1,
        head.ts.clone(),
        None,
        "test.event",
        json!({"forged": true}),
        &head.hash,
    );
    f.sql(&format!(
        "INSERT INTO audit (seq, ts, job_id, kind, payload, prev_hash, hash) \
         VALUES ({}, '{}', NULL, 'test.event', '{}', '{}', '{}')",
        forged.seq,
        forged.ts,
        canonical_json(&forged.payload),
        forged.prev_hash,
        forged.hash
    ));
    RECORDS + 1
}

/// The active mirror file loses its last two records.
fn truncate_mirror(f: &Fixture) -> u64 {
    let text = std::fs::read_to_string(&f.mirror).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() >= 3,
        "fixture: active file too small to truncate"
    );
    let kept = &lines[..lines.len() - 2];
    std::fs::write(&f.mirror, format!("{}\n", kept.join("\n"))).unwrap();
    RECORDS - 1
}

/// The mirror is cut in the middle of a line several records back (not a
/// crash artifact: complete records are missing too).
fn truncate_mirror_mid_line(f: &Fixture) -> u64 {
    let text = std::fs::read_to_string(&f.mirror).unwrap();
    let first = f.first_seq_in(&f.mirror);
    let cut = text.find('\n').unwrap() + 10;
    std::fs::write(&f.mirror, &text[..cut]).unwrap();
    first + 1
}

/// One line of the first rotated file is edited (seq 3's payload).
fn edit_one_mirror_line(f: &Fixture) -> u64 {
    let file = f.rotated(1);
    let text = std::fs::read_to_string(&file).unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|line| {
            if line.contains(r#""seq":3,"#) {
                line.replace(r#""decision":"allow""#, r#""decision":"deny""#)
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_ne!(
        edited.join("\n") + "\n",
        text,
        "fixture: nothing was edited"
    );
    std::fs::write(&file, edited.join("\n") + "\n").unwrap();
    3
}

fn swap_two_mirror_lines(f: &Fixture) -> u64 {
    let file = f.rotated(1);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(1, 2);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    2
}

fn insert_line_into_mirror(f: &Fixture) -> u64 {
    let file = f.rotated(1);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let duplicate = lines[1];
    lines.insert(2, duplicate);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    3
}

fn delete_rotated_file(f: &Fixture) -> u64 {
    let file = f.rotated(2);
    let first = f.first_seq_in(&file);
    std::fs::remove_file(&file).unwrap();
    first
}

fn delete_first_rotated_file(f: &Fixture) -> u64 {
    std::fs::remove_file(f.rotated(1)).unwrap();
    1
}

#[rstest]
#[case::edit_payload_in_database(edit_payload_in_database)]
#[case::edit_hash_in_database(edit_hash_in_database)]
#[case::delete_record_from_database(delete_record_from_database)]
#[case::insert_record_into_database(insert_record_into_database)]
#[case::swap_two_records_in_database(swap_two_records_in_database)]
#[case::append_forged_record_to_database(append_forged_record_to_database)]
#[case::truncate_mirror(truncate_mirror)]
#[case::truncate_mirror_mid_line(truncate_mirror_mid_line)]
#[case::edit_one_mirror_line(edit_one_mirror_line)]
#[case::swap_two_mirror_lines(swap_two_mirror_lines)]
#[case::insert_line_into_mirror(insert_line_into_mirror)]
#[case::delete_rotated_file(delete_rotated_file)]
#[case::delete_first_rotated_file(delete_first_rotated_file)]
fn tampering_is_detected_by_verify(#[case] tamper: fn(&Fixture) -> u64) {
    let fixture = Fixture::with_records();
    let bad_seq = tamper(&fixture);

    let output = fixture.leash(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains(&format!("FAILED verification at seq {bad_seq}:")),
        "expected seq {bad_seq} to be named: {}",
        text(&output)
    );

    let output = fixture.leash(&["audit", "verify", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_bad_seq"], bad_seq, "{report}");
}

#[test]
fn tail_prints_the_last_records_as_text_and_json_lines() {
    let fixture = Fixture::with_records();
    let output = fixture.leash(&["audit", "tail", "-n", "3"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let seqs: Vec<u64> = stdout
        .lines()
        .map(|line| line.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seqs, vec![RECORDS - 2, RECORDS - 1, RECORDS]);
    assert!(
        stdout.contains("notify") && stdout.contains("job 1"),
        "{stdout}"
    );

    let output = fixture.leash(&["audit", "tail", "-n", "2", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let records: Vec<AuditRecord> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        records,
        vec![fixture.record(RECORDS - 1), fixture.record(RECORDS)]
    );
}

#[test]
fn tail_follow_prints_records_as_they_are_appended() {
    let fixture = Fixture::with_records();
    let mut child = fixture
        .command(&["audit", "tail", "--follow", "-n", "1", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if sender.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let seq_of = |line: String| serde_json::from_str::<AuditRecord>(&line).unwrap().seq;
    let first = lines.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(seq_of(first), RECORDS);
    fixture
        .open_log()
        .append(None, AuditKind::Notify, json!({"late": true}))
        .unwrap();
    let next = lines.recv_timeout(Duration::from_secs(20));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(seq_of(next.unwrap()), RECORDS + 1);
}

#[test]
fn export_prints_every_record_as_one_json_document() {
    let fixture = Fixture::with_records();
    let output = fixture.leash(&["audit", "export", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["count"], RECORDS);
    let records: Vec<AuditRecord> = serde_json::from_value(doc["records"].clone()).unwrap();
    let expected = AuditLog::open_read_only(&fixture.db, None)
        .unwrap()
        .all()
        .unwrap();
    assert_eq!(records, expected);
    assert!(records.iter().all(AuditRecord::hash_is_valid));
}

#[test]
fn commands_on_a_fresh_install_do_not_create_the_database() {
    let fixture = Fixture::new();
    let output = fixture.leash(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let output = fixture.leash(&["audit", "tail"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(output.stdout.is_empty());
    assert!(
        !fixture.db.exists(),
        "reading the log must not create {}",
        fixture.db.display()
    );
}

#[test]
fn a_config_error_exits_2_before_touching_the_log() {
    let fixture = Fixture::new();
    std::fs::write(&fixture.config, "logging:\n  audit_lgo: /tmp/x\n").unwrap();
    let output = fixture.leash(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("audit_lgo"), "{}", text(&output));
}
