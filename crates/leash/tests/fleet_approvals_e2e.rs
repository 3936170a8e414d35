//! Approvals follow the person (issue 13 item 4), end to end: a real
//! nats-server and a real daemon on C whose job waits for an approval; B
//! (trusted by C) lists and answers it with `leash approve --on c`; X (not
//! trusted) gets nothing; a wrong nonce and a second answer are refused;
//! C decides, runs the command and audits who answered from where.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::daemon::{DaemonProcess, database, pending_approvals, wait_for};
use common::fleet::{nats, records_of, replay_device};
use common::{TestHome, text};

const DEVICES: &[(&str, &str)] = &[("b", "pw-b"), ("c", "pw-c"), ("x", "pw-x")];

/// A device whose model touches `ran-on-<name>`, which its policy asks
/// about; it trusts `trusted`.
fn device(home: &TestHome, name: &str, url: &str, trusted: &[&str]) -> PathBuf {
    let password = DEVICES.iter().find(|(d, _)| *d == name).unwrap().1;
    let security = "  require_approval_for: [\"touch\"]";
    let extra = "approvals:\n  expiry_s: 120\n";
    replay_device(home, (name, password), url, trusted, security, extra)
}

/// `(state, channel, decided_by)` of approval `id`.
fn approval(home: &TestHome, id: i64) -> (String, Option<String>, Option<String>) {
    let conn = rusqlite::Connection::open(database(home)).unwrap();
    conn.query_row(
        "SELECT state, channel, decided_by FROM approvals WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[test]
fn an_approval_on_c_is_answered_from_b_and_c_decides() {
    let root = tempfile::tempdir().unwrap();
    let Some(server) = nats(root.path(), DEVICES) else {
        return;
    };
    let (b, c, x) = (TestHome::new(), TestHome::new(), TestHome::new());
    device(&b, "b", &server.url(), &[]);
    let c_conf = device(&c, "c", &server.url(), &["b"]);
    device(&x, "x", &server.url(), &[]);
    let c_daemon = DaemonProcess::start(&c, &c_conf, &[]);
    assert!(wait_for(Duration::from_secs(30), || !records_of(
        &c,
        "fleet.joined"
    )
    .is_empty()));

    let out = c.run(&["submit", "make the marker"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        wait_for(Duration::from_secs(60), || !pending_approvals(&c)
            .is_empty()),
        "no approval request: {}",
        c_daemon.stderr()
    );
    let id = pending_approvals(&c)[0];
    let id_arg = id.to_string();

    // X is not trusted by C: it can neither see nor answer.
    let out = x.run(&["approvals", "--on", "c"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("untrusted"),
        "{}",
        text(&out.stderr)
    );
    let out = x.run(&["approve", "--on", "c", &id_arg, "--nonce", "0000"]);
    assert!(!out.status.success());
    assert_eq!(records_of(&c, "fleet.approval.refused").len(), 2);
    assert_eq!(
        records_of(&c, "fleet.approval.refused")[0]["payload"]["code"],
        "untrusted"
    );
    assert_eq!(approval(&c, id).0, "pending");

    // B sees the request; a wrong nonce is refused by C and audited there.
    let out = b.run(&["--json", "approvals", "--on", "c"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["approvals"][0]["id"], id);
    assert_eq!(listed["approvals"][0]["argv"][0], "touch");
    let out = b.run(&["approve", "--on", "c", &id_arg, "--nonce", "not-the-nonce"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("wrong_nonce"),
        "{}",
        text(&out.stderr)
    );
    assert!(!records_of(&c, "approval.nonce_refused").is_empty());
    assert_eq!(approval(&c, id).0, "pending");

    // B approves: C decides, runs the command, records B as the answerer.
    let out = b.run(&["approve", "--on", "c", &id_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("approved"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        wait_for(Duration::from_secs(30), || c
            .workspace()
            .join("ran-on-c")
            .exists()),
        "{}",
        c_daemon.stderr()
    );
    let (state, channel, by) = approval(&c, id);
    assert_eq!(state, "approved");
    assert_eq!(channel.as_deref(), Some("fleet"));
    assert!(by.as_deref().unwrap().starts_with("fleet:b:"), "{by:?}");
    let answered = records_of(&c, "fleet.approval.answered");
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0]["payload"]["device"], "b");

    // First answer wins: a second one, even with the right nonce, is refused.
    let nonce = listed["approvals"][0]["nonce"].as_str().unwrap();
    let out = b.run(&["deny", "--on", "c", &id_arg, "--nonce", nonce]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not_pending"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(approval(&c, id).0, "approved");

    c_daemon.stop();
    c.assert_audit_verifies();
}
