//! `leash fleet audit` end to end (issue 13 item 5): a real nats-server and
//! a real daemon on C. B (trusted by C) reads C's chain through the fleet
//! and verifies it; X (not trusted) is refused and C audits the refusal;
//! after a record of C's database is edited, B reports C's chain as
//! tampered at that record.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::daemon::{DaemonProcess, database, wait_for};
use common::fleet::{nats, records_of, replay_device};
use common::{TestHome, text};

const DEVICES: &[(&str, &str)] = &[("b", "pw-b"), ("c", "pw-c"), ("x", "pw-x")];

fn device(home: &TestHome, name: &str, url: &str, trusted: &[&str]) -> PathBuf {
    let password = DEVICES.iter().find(|(d, _)| *d == name).unwrap().1;
    replay_device(home, (name, password), url, trusted, "", "")
}

fn fleet_audit(home: &TestHome, args: &[&str]) -> (bool, serde_json::Value) {
    let mut all = vec!["--json", "fleet", "audit"];
    all.extend_from_slice(args);
    let out = home.run(&all);
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}\n{}", text(&out.stdout), text(&out.stderr)));
    (out.status.success(), doc)
}

#[test]
fn a_remote_chain_is_verified_here_and_a_tampered_one_is_reported() {
    let root = tempfile::tempdir().unwrap();
    let Some(server) = nats(root.path(), DEVICES) else {
        return;
    };
    let (b, c, x) = (TestHome::new(), TestHome::new(), TestHome::new());
    device(&b, "b", &server.url(), &[]);
    let c_conf = device(&c, "c", &server.url(), &["b"]);
    device(&x, "x", &server.url(), &[]);
    let c_daemon = DaemonProcess::start(&c, &c_conf, &[]);
    assert!(wait_for(Duration::from_secs(30), || c
        .audit_kinds()
        .iter()
        .any(|k| k == "fleet.joined")));

    // B reads and verifies C's chain.
    let (ok, doc) = fleet_audit(&b, &["--device", "c"]);
    assert!(ok, "{doc}\n{}", c_daemon.stderr());
    assert_eq!(doc["devices"][0]["device"], "c");
    assert_eq!(doc["devices"][0]["status"], "verified");
    let read = doc["devices"][0]["records"].as_u64().unwrap();
    assert!(read >= 2, "{doc}");

    // X is not trusted by C: nothing read, C audits the refusal.
    let (ok, doc) = fleet_audit(&x, &["--device", "c"]);
    assert!(!ok);
    assert_eq!(doc["devices"][0]["status"], "unavailable");
    assert_eq!(doc["devices"][0]["records"], 0);
    assert!(
        doc["devices"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("untrusted"),
        "{doc}"
    );
    let refusals = records_of(&c, "fleet.audit.refused");
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0]["payload"]["publisher"], "x");

    // Someone edits C's record 2 in place: B, asking every device it has
    // heard from, reports C's chain as tampered at 2.
    let conn = rusqlite::Connection::open(database(&c)).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute(
        r#"UPDATE audit SET payload = '{"pid":1,"forged":true}' WHERE seq = 2"#,
        [],
    )
    .unwrap();
    drop(conn);
    let (ok, doc) = fleet_audit(&b, &[]);
    assert!(!ok, "{doc}");
    let c_report = doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == "c")
        .unwrap_or_else(|| panic!("c not asked: {doc}"))
        .clone();
    assert_eq!(c_report["status"], "tampered", "{doc}");
    assert_eq!(c_report["first_bad_seq"], 2, "{doc}");
    // The local check agrees.
    assert!(!c.run(&["audit", "verify"]).status.success());
    c_daemon.stop();
}

/// Rewrites C's records from `from` on with new payloads and recomputed
/// hashes: a chain consistent in itself that is not the one B verified.
fn rewrite_history(c: &TestHome, from: u64) {
    let mut conn = rusqlite::Connection::open(database(c)).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let tx = conn.transaction().unwrap();
    let rows: Vec<(u64, String, Option<i64>, String, String, String)> = {
        let mut stmt = tx
            .prepare("SELECT seq, ts, job_id, kind, payload, hash FROM audit ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let mut prev = String::new();
    for (seq, ts, job_id, kind, payload, hash) in rows {
        if seq < from {
            prev = hash;
            continue;
        }
        let mut payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
        if seq == from {
            payload = serde_json::json!({"rewritten": true});
        }
        let record = leash_store::AuditRecord::seal(seq, ts, job_id, &kind, payload.clone(), &prev);
        tx.execute(
            "UPDATE audit SET payload = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![
                serde_json::to_string(&payload).unwrap(),
                record.prev_hash,
                record.hash,
                seq
            ],
        )
        .unwrap();
        prev = record.hash;
    }
    tx.commit().unwrap();
}

fn report_of(doc: &serde_json::Value, device: &str) -> serde_json::Value {
    doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == device)
        .unwrap_or_else(|| panic!("{device} not asked: {doc}"))
        .clone()
}

#[test]
fn a_chain_that_no_longer_extends_the_head_verified_before_is_rewound() {
    let root = tempfile::tempdir().unwrap();
    let Some(server) = nats(root.path(), DEVICES) else {
        return;
    };
    let (b, c) = (TestHome::new(), TestHome::new());
    device(&b, "b", &server.url(), &[]);
    let c_conf = device(&c, "c", &server.url(), &["b"]);
    let c_daemon = DaemonProcess::start(&c, &c_conf, &[]);
    assert!(wait_for(Duration::from_secs(30), || c
        .audit_kinds()
        .iter()
        .any(|k| k == "fleet.joined")));

    // B verifies C's chain and remembers its head.
    let (ok, doc) = fleet_audit(&b, &["--device", "c"]);
    assert!(ok, "{doc}\n{}", c_daemon.stderr());
    let head = report_of(&doc, "c")["records"].as_u64().unwrap();
    assert!(head >= 2, "{doc}");
    // Read again unchanged: still verified (the head is extended by itself).
    let (ok, doc) = fleet_audit(&b, &["--device", "c"]);
    assert!(ok, "{doc}");

    // History rewritten from seq 2 on, every hash recomputed: consistent in
    // itself (C's own `audit verify` cannot tell), but not what B verified.
    rewrite_history(&c, 2);
    assert!(c.run(&["audit", "verify"]).status.success());
    let (ok, doc) = fleet_audit(&b, &["--device", "c"]);
    assert!(!ok, "{doc}");
    let report = report_of(&doc, "c");
    assert_eq!(report["status"], "rewound", "{doc}");
    assert_eq!(report["first_bad_seq"], head, "{doc}");
    assert!(
        report["problem"].as_str().unwrap().contains("rewritten"),
        "{doc}"
    );

    // History cut short: the chain ends before the head B verified.
    let conn = rusqlite::Connection::open(database(&c)).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute("DELETE FROM audit WHERE seq > 1", []).unwrap();
    drop(conn);
    let (ok, doc) = fleet_audit(&b, &["--device", "c"]);
    assert!(!ok, "{doc}");
    let report = report_of(&doc, "c");
    assert_eq!(report["status"], "rewound", "{doc}");
    assert_eq!(report["first_bad_seq"], head, "{doc}");
    assert!(report["problem"].as_str().unwrap().contains("cut"), "{doc}");
    let out = b.run(&["fleet", "audit", "--device", "c"]);
    assert!(
        text(&out.stdout).contains(&format!("REWOUND at seq {head}")),
        "{}",
        text(&out.stdout)
    );

    c_daemon.stop();
}
