//! `require_approval_for` entries that reach the network ask even with
//! `security.network: false`, and the one run a person approves gets the
//! network — nothing else does. Real child processes, a real TCP listener on
//! 127.0.0.1, the real Landlock TCP rules.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use leash_core::approval::{ApprovalAnswer, ApprovalOutcome, ApprovalRequest, Approver};
use leash_core::{CommandReport, CommandRequest, Engine};
use leash_policy::Decision;
use leash_sandbox::ExitKind;

use crate::{Fixture, audit};

/// A person who approves every request once.
#[derive(Debug)]
struct SaysYes;

impl Approver for SaysYes {
    fn ask(&self, _request: &ApprovalRequest) -> ApprovalOutcome {
        ApprovalOutcome::Answered {
            answer: ApprovalAnswer::Yes,
            channel: "test".into(),
            by: "test".into(),
            reason: None,
        }
    }
}

/// A one-request HTTP server on 127.0.0.1; the receiver says whether anyone
/// connected within the time the command had.
fn listener() -> (u16, mpsc::Receiver<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(6);
        while std::time::Instant::now() < deadline {
            if let Ok((mut stream, _)) = listener.accept() {
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello");
                let _ = tx.send(true);
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = tx.send(false);
    });
    (port, rx)
}

fn run(engine: &Engine, argv: &[String]) -> CommandReport {
    let job = engine.default_params();
    let runner = engine.runner(&job, &SaysYes);
    runner
        .run(&CommandRequest {
            argv: argv.to_vec(),
            cwd: engine.workspace.clone(),
            job_id: None,
        })
        .unwrap()
}

fn started_network(engine: &Engine) -> Vec<serde_json::Value> {
    audit(engine)
        .into_iter()
        .filter(|(kind, _)| kind == "command.started")
        .map(|(_, payload)| payload["network"].clone())
        .collect()
}

#[test]
fn network_command_listed_for_approval_gets_the_network_only_when_approved() {
    let fx = Fixture::new();
    let engine = fx.engine("  network: false\n  require_approval_for: [curl]\n");
    let (port, connected) = listener();
    let argv: Vec<String> = ["curl", "-s", "--max-time", "5"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([format!("http://127.0.0.1:{port}/")])
        .collect();

    let verdict = engine.policy.check_argv(&argv);
    assert_eq!(verdict.decision, Decision::Ask, "{verdict:?}");
    assert!(verdict.network_if_approved, "{verdict:?}");

    let report = run(&engine, &argv);
    assert!(report.carried_out(), "{report:?}");
    let outcome = report.outcome().unwrap();
    assert_eq!(outcome.status, ExitKind::Exited(0), "{outcome:?}");
    assert!(
        outcome.stdout.render_text().contains("hello"),
        "{outcome:?}"
    );
    assert!(
        connected.recv().unwrap(),
        "the approved run never connected"
    );
    assert_eq!(started_network(&engine), vec![serde_json::json!(true)]);
}

#[test]
fn a_command_approved_for_another_reason_stays_offline() {
    let fx = Fixture::new();
    // A python3 script asks (a person approves scripts), not because of the
    // network: an approval for that reason must not open the network.
    let engine = fx.engine("  network: false\n");
    let (port, connected) = listener();
    let script = format!(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    print('connected')\nexcept OSError as e:\n    print('refused', e)\n"
    );
    std::fs::write(fx.workspace().join("probe.py"), script).unwrap();
    let argv: Vec<String> = vec!["python3".into(), "probe.py".into()];
    let verdict = engine.policy.check_argv(&argv);
    if verdict.decision == Decision::Deny {
        panic!("python3 SCRIPT must ask, not deny, for this test to mean anything: {verdict:?}");
    }
    assert!(!verdict.network_if_approved, "{verdict:?}");
    let report = run(&engine, &argv);
    assert!(report.carried_out(), "{report:?}");
    let outcome = report.outcome().unwrap();
    let stdout = outcome.stdout.render_text();
    assert!(
        !stdout.contains("connected"),
        "the child connected: {stdout}"
    );
    assert!(!connected.recv().unwrap(), "the listener was reached");
    assert_eq!(started_network(&engine), vec![serde_json::json!(false)]);
}
