//! Remote approvals: the approver files a request with a nonce and an expiry,
//! runs the notifier, waits; answers with a wrong nonce are refused and
//! audited; the right nonce decides once; nobody answering means expired.

use std::sync::Arc;
use std::time::{Duration, Instant};

use leash_core::approval::{ApprovalAnswer, ApprovalOutcome, ApprovalRequest, Approver};
use leash_daemon::{DaemonContext, DecideError, RemoteAnswer, RemoteApprover};
use leash_policy::Decision;
use leash_store::{ApprovalState, JobState, NewJob, TriggerSource};

use crate::support::TestDaemonHome;

fn context(home: &TestDaemonHome, extra: &str) -> Arc<DaemonContext> {
    let loaded = home.load(&format!(
        "security:\n  workspace: {}\nlogging:\n  level: warn\n{extra}",
        home.workspace().display()
    ));
    home.context(loaded)
}

fn running_job(ctx: &DaemonContext) -> i64 {
    ctx.with_store(|s| {
        let job = s.insert_job(&NewJob {
            trigger_kind: TriggerSource::Http,
            prompt: "p".into(),
            ..NewJob::default()
        })?;
        s.set_job_state(job.id, JobState::Running, None)?;
        Ok(job.id)
    })
    .unwrap()
}

fn request(expires_in: Duration) -> ApprovalRequest {
    ApprovalRequest {
        argv: vec!["cp".into(), "-r".into(), "build/.".into(), "site/".into()],
        program: None,
        cwd: "/tmp".into(),
        decision: Decision::Ask,
        rule: "seed.require_approval_for".into(),
        reason: "deploys".into(),
        expires_in,
        binding: None,
        suggested_grant: None,
        reversibility: None,
        grant_shape: None,
    }
}

/// An approver for `job_id` asking (with a minute's expiry) on another thread.
fn ask_in_background(
    ctx: &Arc<DaemonContext>,
    job_id: i64,
) -> std::thread::JoinHandle<ApprovalOutcome> {
    let approver = RemoteApprover {
        ctx: Arc::clone(ctx),
        job_id,
    };
    std::thread::spawn(move || approver.ask(&request(Duration::from_secs(60))))
}

/// Waits until the approver has filed its request; returns (id, nonce).
pub(crate) fn wait_pending(ctx: &DaemonContext) -> (i64, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pending = ctx
            .with_store(|s| s.approvals(Some(ApprovalState::Pending)))
            .unwrap();
        if let Some(a) = pending.first() {
            return (a.id, a.nonce.expose().to_owned());
        }
        assert!(Instant::now() < deadline, "no approval was filed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn wrong_nonce_is_refused_and_audited_then_the_right_one_approves_once() {
    let home = TestDaemonHome::new();
    let ctx = context(&home, "");
    let job_id = running_job(&ctx);
    let asking = ask_in_background(&ctx, job_id);
    let (id, nonce) = wait_pending(&ctx);
    assert_eq!(
        ctx.with_store(|s| s.job(job_id)).unwrap().unwrap().state,
        JobState::WaitingApproval
    );

    let wrong = ctx.decide_approval(id, "not-the-nonce", RemoteAnswer::Approve, "http", "t");
    assert!(
        matches!(wrong, Err(DecideError::WrongNonce { .. })),
        "{wrong:?}"
    );
    let refused = ctx
        .audit
        .all()
        .unwrap()
        .iter()
        .any(|r| r.kind == "approval.nonce_refused");
    assert!(refused, "a wrong nonce must be audited");

    let decided = ctx
        .decide_approval(id, &nonce, RemoteAnswer::Approve, "http", "tester")
        .unwrap();
    assert_eq!(decided.state, ApprovalState::Approved);
    let again = ctx.decide_approval(id, &nonce, RemoteAnswer::Deny, "http", "tester");
    assert!(
        matches!(again, Err(DecideError::NotPending { .. })),
        "{again:?}"
    );

    let outcome = asking.join().unwrap();
    assert!(
        matches!(
            outcome,
            ApprovalOutcome::Answered {
                answer: ApprovalAnswer::Yes,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        ctx.with_store(|s| s.job(job_id)).unwrap().unwrap().state,
        JobState::Running,
        "the job goes back to running after the answer"
    );
}

#[test]
fn nobody_answering_expires_the_request_as_a_denial() {
    let home = TestDaemonHome::new();
    let ctx = context(&home, "");
    let job_id = running_job(&ctx);
    let approver = RemoteApprover {
        ctx: Arc::clone(&ctx),
        job_id,
    };
    let outcome = approver.ask(&request(Duration::from_millis(300)));
    assert!(
        matches!(outcome, ApprovalOutcome::Expired { .. }),
        "{outcome:?}"
    );
    assert!(!outcome.approves());
    let all = ctx.with_store(|s| s.approvals(None)).unwrap();
    assert_eq!(all[0].state, ApprovalState::Expired);
}

#[test]
fn cancelling_the_job_denies_its_pending_approval() {
    let home = TestDaemonHome::new();
    let ctx = context(&home, "");
    let job_id = running_job(&ctx);
    let asking = ask_in_background(&ctx, job_id);
    let _ = wait_pending(&ctx);
    ctx.request_cancel(job_id, "tester").unwrap();
    let outcome = asking.join().unwrap();
    assert!(!outcome.approves(), "{outcome:?}");
}

#[test]
fn the_notifier_gets_the_id_the_nonce_and_an_escaped_summary() {
    let home = TestDaemonHome::new();
    let out = home.root().join("notified.txt");
    let script = home.root().join("notify.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" \"$2\" \"$3\" \"$LEASH_APPROVAL_ID\" > {}\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let ctx = context(
        &home,
        &format!("approvals:\n  notifier: [{}]\n", script.display()),
    );
    let job_id = running_job(&ctx);
    let approver = RemoteApprover {
        ctx: Arc::clone(&ctx),
        job_id,
    };
    let mut req = request(Duration::from_millis(500));
    // A bidi override must not reach the notification unescaped.
    req.argv.push("evil\u{202e}txt.exe".into());
    let _ = approver.ask(&req);
    let lines: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let approval = &ctx.with_store(|s| s.approvals(None)).unwrap()[0];
    assert_eq!(lines[0], approval.id.to_string());
    assert_eq!(lines[1], approval.nonce.expose());
    assert!(
        lines[2].starts_with("leash wants to run: cp -r"),
        "{}",
        lines[2]
    );
    assert!(
        !lines[2].contains('\u{202e}'),
        "bidi override reached the summary"
    );
    assert_eq!(lines[3], approval.id.to_string());
    let notified = ctx
        .audit
        .all()
        .unwrap()
        .iter()
        .any(|r| r.kind == "approval.notified" && r.payload["ran"] == true);
    assert!(notified);
}

#[test]
fn an_answer_after_the_expiry_is_refused_even_before_the_worker_notices() {
    let home = TestDaemonHome::new();
    let ctx = context(&home, "");
    let job_id = running_job(&ctx);
    let approval = ctx
        .with_store(|s| {
            s.insert_approval(&leash_store::NewApproval {
                job_id: Some(job_id),
                expires_at: "2020-01-01T00:00:00Z".into(),
                nonce: "n1".into(),
                argv: vec!["ls".into()],
                ..leash_store::NewApproval::default()
            })
        })
        .unwrap();
    let late = ctx.decide_approval(approval.id, "n1", RemoteAnswer::Approve, "http", "t");
    assert!(
        matches!(&late, Err(DecideError::NotPending { state, .. }) if state == "expired"),
        "{late:?}"
    );
    assert_eq!(
        ctx.with_store(|s| s.approval(approval.id))
            .unwrap()
            .unwrap()
            .state,
        ApprovalState::Expired
    );
}
