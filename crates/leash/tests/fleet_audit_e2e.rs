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
