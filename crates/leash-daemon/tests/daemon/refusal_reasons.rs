//! A refusal's reason through every surface of the daemon (hostile class
//! `refusal-reason-markup`): the API's deny route hands the reason to the
//! waiting job exactly; approve with a reason and an over-long reason are
//! 400; the web page's deny form sends it, and a reason carrying markup and
//! terminal escapes is shown as text on the job's page; the request shows
//! its undo class and grant shape, escaped. Real HTTP on 127.0.0.1, real
//! SQLite, the real RemoteApprover waiting on another thread.

use leash_store::AuditKind;
use std::sync::Arc;
use std::time::Duration;

use leash_core::approval::{ApprovalAnswer, ApprovalOutcome, ApprovalRequest, Approver};
use leash_daemon::{DaemonContext, RemoteApprover};
use leash_policy::Decision;
use leash_store::{ApprovalState, JobState, NewJob, TriggerSource};
use serde_json::json;

use crate::approvals::wait_pending as pending;
use crate::http::Api;

const HOSTILE: &str = "no\u{1b}[2J <script>alert(1)</script> \u{202e}txt.exe";

fn job(ctx: &DaemonContext) -> i64 {
    ctx.with_store(|s| {
        let job = s.insert_job(&NewJob {
            trigger_kind: TriggerSource::Http,
            prompt: "tidy".into(),
            ..NewJob::default()
        })?;
        s.set_job_state(job.id, JobState::Running, None)?;
        Ok(job.id)
    })
    .unwrap()
}

fn ask(ctx: &Arc<DaemonContext>, job_id: i64) -> std::thread::JoinHandle<ApprovalOutcome> {
    let approver = RemoteApprover {
        ctx: Arc::clone(ctx),
        job_id,
    };
    std::thread::spawn(move || {
        approver.ask(&ApprovalRequest {
            argv: vec!["rm".into(), "<img src=x onerror=alert(2)>.txt".into()],
            program: None,
            cwd: "/tmp".into(),
            decision: Decision::Ask,
            rule: "seed.require_approval_for".into(),
            reason: "removes a file".into(),
            expires_in: Duration::from_secs(60),
            binding: None,
            suggested_grant: None,
            reversibility: Some(leash_undo::Reversibility::Irreversible),
            grant_shape: Some("rm <img src=x onerror=alert(3)>.txt".into()),
        })
    })
}

#[test]
fn the_api_hands_the_reason_to_the_waiting_job_and_refuses_bad_reasons() {
    let api = Api::start();
    let job_id = job(&api.ctx);
    let asking = ask(&api.ctx, job_id);
    let (id, nonce) = pending(&api.ctx);

    // The request shows its undo class and grant shape.
    let shown = api.call("GET", &format!("/v1/approvals/{id}"), None).json();
    assert_eq!(shown["approval"]["reversibility"], "irreversible");
    assert_eq!(
        shown["approval"]["grant_shape"],
        "rm <img src=x onerror=alert(3)>.txt"
    );

    let approve_with_reason = api.call(
        "POST",
        &format!("/v1/approvals/{id}/approve"),
        Some(&json!({"nonce": nonce, "reason": "why"}).to_string()),
    );
    assert_eq!(
        approve_with_reason.status, 400,
        "{}",
        approve_with_reason.text
    );
    assert!(approve_with_reason.text.contains("`reason`"));
    let too_long = api.call(
        "POST",
        &format!("/v1/approvals/{id}/deny"),
        Some(&json!({"nonce": nonce, "reason": "x".repeat(301)}).to_string()),
    );
    assert_eq!(too_long.status, 400, "{}", too_long.text);
    assert!(too_long.text.contains("`reason`"), "{}", too_long.text);
    // Neither answered it.
    assert_eq!(
        api.ctx
            .with_store(|s| s.approval(id))
            .unwrap()
            .unwrap()
            .state,
        ApprovalState::Pending
    );

    let denied = api.call(
        "POST",
        &format!("/v1/approvals/{id}/deny"),
        Some(&json!({"nonce": nonce, "reason": HOSTILE, "channel": "cli"}).to_string()),
    );
    assert_eq!(denied.status, 200, "{}", denied.text);
    assert_eq!(denied.json()["approval"]["refusal_reason"], HOSTILE);
    match asking.join().unwrap() {
        ApprovalOutcome::Answered { answer, reason, .. } => {
            assert_eq!(answer, ApprovalAnswer::No);
            assert_eq!(reason.as_deref(), Some(HOSTILE), "the words, exactly");
        }
        other => panic!("not answered: {other:?}"),
    }
}

/// The value of `name="csrf"` in a page.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_owned()
}

#[test]
fn the_web_page_denies_with_a_reason_and_shows_it_as_text() {
    let api = Api::start();
    let job_id = job(&api.ctx);
    let asking = ask(&api.ctx, job_id);
    let (id, _) = pending(&api.ctx);

    // Log in with a one-time link, keeping the session cookie by hand.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let link = api.call("POST", "/v1/web/login-link", None).json()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let login = agent.get(&link).call().unwrap();
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("leash_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let get = |path: &str| {
        agent
            .get(format!("{}{path}", api.base))
            .header("Cookie", &cookie)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    };

    let page = get("/ui/approvals");
    assert!(page.contains("name=\"reason\""), "the deny form asks why");
    assert!(page.contains("<datalist id=\"refusal-reasons\">"));
    assert!(page.contains("not needed for this task"));
    assert!(page.contains("irreversible"), "the undo class is shown");
    assert!(!page.contains("<img"), "markup from the argv stays text");
    assert!(page.contains("rm &lt;img src=x onerror=alert(3)&gt;.txt"));

    let form = [("csrf", csrf(&page)), ("reason", HOSTILE.to_owned())];
    let answered = agent
        .post(format!("{}/ui/approvals/{id}/deny", api.base))
        .header("Cookie", &cookie)
        .header("Origin", &api.base)
        .send_form(form)
        .unwrap();
    assert_eq!(answered.status().as_u16(), 303);
    match asking.join().unwrap() {
        ApprovalOutcome::Answered {
            answer,
            reason,
            channel,
            ..
        } => {
            assert_eq!((answer, channel.as_str()), (ApprovalAnswer::No, "web"));
            assert_eq!(reason.as_deref(), Some(HOSTILE));
        }
        other => panic!("not answered: {other:?}"),
    }

    // The job's story shows the refusal's reason as text. The approver's
    // outcome is recorded by the engine; here we record it as the engine
    // would, so the page renders the real record.
    api.ctx
        .audit
        .append(
            Some(job_id),
            AuditKind::ApprovalAnswered,
            json!({"outcome": "answered", "answer": "no", "channel": "web", "by": "web", "reason": HOSTILE}),
        )
        .unwrap();
    api.ctx.audit.flush().unwrap();
    let story = get(&format!("/ui/jobs/{job_id}"));
    assert!(!story.contains("<script>alert(1)"), "{story}");
    assert!(!story.contains('\u{1b}'), "no raw terminal escape");
    assert!(
        story.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{story}"
    );
}
