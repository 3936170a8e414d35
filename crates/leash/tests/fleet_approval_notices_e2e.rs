//! Approvals follow the person (issue 13 item 4), the telling half, end to
//! end: a real nats-server and real daemons. C's job asks; C publishes the
//! request to the fleet (without its nonce); B, which trusts C, runs its
//! notifier (a stand-in script: there is no phone here) and lists the
//! request on its API and in `leash approvals`; B approves through its own
//! API, which goes through the fleet to C; C runs the command once; A's later
//! answer is `not_pending`; B drops the request once C closes it. X, which B
//! does not trust, has its own request published on its own subject: B never
//! shows it and audits the refusal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::daemon::{DaemonProcess, pending_approvals, wait_for};
use common::fleet::{api, nats, records_of, replay_device};
use common::{TestHome, text};
use serde_json::{Value, json};

const DEVICES: &[(&str, &str)] = &[("a", "pw-a"), ("b", "pw-b"), ("c", "pw-c"), ("x", "pw-x")];

/// A device whose model touches `ran-on-<name>`, which its policy asks
/// about; `extra` adds top-level sections.
fn device(home: &TestHome, name: &str, url: &str, trusted: &[&str], extra: &str) -> PathBuf {
    let password = DEVICES.iter().find(|(d, _)| *d == name).unwrap().1;
    let security = "  require_approval_for: [\"touch\"]";
    replay_device(home, (name, password), url, trusted, security, extra)
}

/// A notifier stand-in: appends its arguments and `LEASH_APPROVAL_DEVICE`,
/// one per line, to `told`.
fn notifier_script(dir: &Path, told: &Path) -> PathBuf {
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" \"device=$LEASH_APPROVAL_DEVICE\" >> '{}'\n",
            told.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn told_on_b(b: &TestHome) -> Vec<(String, i64)> {
    let (status, listed) = api(b, "GET", "/v1/fleet/approvals", None);
    assert_eq!(status, 200, "{listed}");
    listed["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["device"].as_str().unwrap().to_owned(),
                a["id"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn cs_request_is_told_to_b_answered_there_and_dropped_when_closed() {
    let root = tempfile::tempdir().unwrap();
    let Some(server) = nats(root.path(), DEVICES) else {
        return;
    };
    let url = server.url();
    let (a, b, c, x) = (
        TestHome::new(),
        TestHome::new(),
        TestHome::new(),
        TestHome::new(),
    );
    let told = root.path().join("told.txt");
    let script = notifier_script(root.path(), &told);
    let expiry = "approvals:\n  expiry_s: 120\n";
    device(&a, "a", &url, &[], "");
    let b_conf = device(
        &b,
        "b",
        &url,
        &["c"],
        &format!(
            "approvals:\n  expiry_s: 120\n  notifier: [\"{}\"]\n",
            script.display()
        ),
    );
    let c_conf = device(&c, "c", &url, &["a", "b"], expiry);
    let x_conf = device(&x, "x", &url, &["b"], expiry);
    let c_daemon = DaemonProcess::start(&c, &c_conf, &[]);
    let b_daemon = DaemonProcess::start(&b, &b_conf, &[]);
    let x_daemon = DaemonProcess::start(&x, &x_conf, &[]);
    for home in [&b, &c, &x] {
        assert!(wait_for(Duration::from_secs(30), || !records_of(
            home,
            "fleet.joined"
        )
        .is_empty()));
    }

    // C's job asks: B's notifier is called with the request, and B lists it.
    let out = c.run(&["submit", "make the marker"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        wait_for(Duration::from_secs(60), || !pending_approvals(&c)
            .is_empty()),
        "no approval request on c: {}",
        c_daemon.stderr()
    );
    let id = pending_approvals(&c)[0];
    assert!(
        wait_for(Duration::from_secs(30), || told_on_b(&b)
            == [("c".to_owned(), id)]),
        "b was not told: {:?}; b: {}",
        told_on_b(&b),
        b_daemon.stderr()
    );
    assert!(
        wait_for(Duration::from_secs(20), || told.exists()),
        "b's notifier did not run: {}",
        b_daemon.stderr()
    );
    let lines = std::fs::read_to_string(&told).unwrap();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines[0], id.to_string(), "{lines:?}");
    assert_eq!(lines[1], "", "no nonce leaves c: {lines:?}");
    assert!(
        lines[2].starts_with("on c: ") && lines[2].contains("touch"),
        "{lines:?}"
    );
    assert_eq!(lines[3], "device=c");
    // Audited once the notifier has ended.
    assert!(wait_for(Duration::from_secs(20), || !records_of(
        &b,
        "fleet.approval.notified"
    )
    .is_empty()));
    let notified = records_of(&b, "fleet.approval.notified");
    assert_eq!(notified.len(), 1);
    assert_eq!(notified[0]["payload"]["device"], "c");
    // The notice on the wire carries no nonce: B's API has none to show.
    let (_, listed) = api(&b, "GET", "/v1/fleet/approvals", None);
    assert!(!listed.to_string().contains("nonce"), "{listed}");
    assert_eq!(listed["approvals"][0]["argv"][0], "touch");
    // `leash approvals` on B marks it with its owner.
    let out = b.run(&["--json", "approvals"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["fleet"][0]["device"], "c", "{cli}");
    assert_eq!(cli["fleet"][0]["id"], id, "{cli}");
    let out = b.run(&["approvals"]);
    assert!(
        text(&out.stdout).contains(&format!("leash approve --on c {id}")),
        "{}",
        text(&out.stdout)
    );

    // X, not trusted by B, files its own request: B never shows it.
    let out = x.run(&["submit", "make the marker"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        wait_for(Duration::from_secs(60), || !records_of(
            &b,
            "fleet.approval.notice_refused"
        )
        .is_empty()),
        "b did not refuse x's notice: {}",
        b_daemon.stderr()
    );
    let refused = &records_of(&b, "fleet.approval.notice_refused")[0]["payload"];
    assert_eq!(refused["publisher"], "x");
    assert_eq!(refused["code"], "untrusted");
    assert_eq!(told_on_b(&b), [("c".to_owned(), id)]);
    assert_eq!(records_of(&b, "fleet.approval.notified").len(), 1);

    // B approves through its own API; C decides and runs the command once.
    let (status, answered) = api(
        &b,
        "POST",
        &format!("/v1/fleet/approvals/{id}/approve"),
        Some(json!({"device": "c", "by": "web"})),
    );
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["state"], "approved");
    assert!(
        wait_for(Duration::from_secs(30), || c
            .workspace()
            .join("ran-on-c")
            .exists()),
        "{}",
        c_daemon.stderr()
    );
    let answered = records_of(&c, "fleet.approval.answered");
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0]["payload"]["device"], "b");
    assert_eq!(answered[0]["payload"]["by"], "fleet:b:http:web");

    // A second device's later answer loses: first answer wins on C.
    let out = a.run(&["deny", "--on", "c", &id.to_string()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not_pending"),
        "{}",
        text(&out.stderr)
    );
    // So does one through B's API.
    let (status, late) = api(
        &b,
        "POST",
        &format!("/v1/fleet/approvals/{id}/deny"),
        Some(json!({"device": "c"})),
    );
    assert_eq!(status, 409, "{late}");

    // C closed the request: B drops it (no stale buttons).
    assert!(
        wait_for(Duration::from_secs(30), || told_on_b(&b).is_empty()),
        "b still shows {:?}",
        told_on_b(&b)
    );
    // The command ran once on C.
    let started = records_of(&c, "command.started");
    assert_eq!(started.len(), 1, "{started:?}");

    // A restarted B rebuilds its list from the stream: nothing stale comes back.
    b_daemon.stop();
    let b_daemon = DaemonProcess::start(&b, &b_conf, &[]);
    assert!(wait_for(Duration::from_secs(30), || records_of(
        &b,
        "fleet.joined"
    )
    .len()
        == 2));
    std::thread::sleep(Duration::from_secs(2));
    assert!(told_on_b(&b).is_empty(), "{:?}", told_on_b(&b));
    assert_eq!(records_of(&b, "fleet.approval.notified").len(), 1);

    for daemon in [b_daemon, c_daemon, x_daemon] {
        daemon.stop();
    }
    for home in [&b, &c, &x] {
        home.assert_audit_verifies();
    }
}
