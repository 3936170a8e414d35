//! The web page in a real headless Chromium (Debian's `chromium` driven by
//! `chromedriver` over WebDriver) against a real daemon API on 127.0.0.1:
//! log in with a one-time link, see pending approvals appear without a
//! reload, approve one, deny one, grant one and revoke the grant; a file
//! name carrying markup shows as text; a cross-site form post is refused.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leash_core::approval::{ApprovalAnswer, ApprovalOutcome, ApprovalRequest, Approver};
use leash_daemon::{DaemonContext, RemoteAnswer, RemoteApprover};
use leash_policy::Decision;
use leash_store::{ApprovalState, JobState, NewJob, TriggerSource};

use crate::http::Api;
use crate::webdriver::{Browser, unavailable};

/// A file name that is markup: it must show as text, never run.
const XSS_NAME: &str = "<img src=x onerror=\"document.title='pwned'\">.txt";

/// The API of `http.rs` on 127.0.0.1, with its own workspace.
struct Daemon {
    base: String,
    ctx: Arc<DaemonContext>,
    workspace: PathBuf,
    _api: Api,
    _dir: tempfile::TempDir,
}

fn daemon() -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().canonicalize().unwrap();
    let api = Api::start_with(&format!(
        "security:\n  workspace: {}\n  execution_mode: prompt\nlogging:\n  level: warn\n",
        workspace.display()
    ));
    Daemon {
        base: api.base.clone(),
        ctx: Arc::clone(&api.ctx),
        workspace,
        _api: api,
        _dir: dir,
    }
}

fn job(d: &Daemon) -> i64 {
    let workspace = d.workspace.clone().display().to_string();
    d.ctx
        .with_store(|s| {
            let job = s.insert_job(&NewJob {
                trigger_kind: TriggerSource::Http,
                prompt: "sort the inbox".into(),
                workspace: Some(workspace),
                ..NewJob::default()
            })?;
            s.set_job_state(job.id, JobState::Running, None)?;
            Ok(job.id)
        })
        .unwrap()
}

/// A person is asked, on another thread, to approve `argv` for `job_id`.
fn ask(d: &Daemon, job_id: i64, argv: &[&str]) -> std::thread::JoinHandle<ApprovalOutcome> {
    let approver = RemoteApprover {
        ctx: Arc::clone(&d.ctx),
        job_id,
    };
    let request = ApprovalRequest {
        argv: argv.iter().map(|w| (*w).to_owned()).collect(),
        program: None,
        cwd: d.workspace.clone(),
        decision: Decision::Ask,
        rule: "seed.require_approval_for".into(),
        reason: "a test asks".into(),
        expires_in: Duration::from_secs(120),
        binding: None,
        suggested_grant: None,
        reversibility: None,
        grant_shape: None,
    };
    std::thread::spawn(move || approver.ask(&request))
}

fn pending_ids(d: &Daemon) -> Vec<i64> {
    d.ctx
        .with_store(|s| s.approvals(Some(ApprovalState::Pending)))
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect()
}

fn wait_pending(d: &Daemon, count: usize) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ids = pending_ids(d);
        if ids.len() >= count {
            return *ids.last().unwrap();
        }
        assert!(Instant::now() < deadline, "no approval was filed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn answer_of(handle: std::thread::JoinHandle<ApprovalOutcome>) -> (ApprovalAnswer, String) {
    match handle.join().unwrap() {
        ApprovalOutcome::Answered {
            answer, channel, ..
        } => (answer, channel),
        other => panic!("not answered: {other:?}"),
    }
}

/// Waits until approval `id` is answered; on failure shows the page.
fn wait_decided(d: &Daemon, browser: &Browser, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while pending_ids(d).contains(&id) {
        assert!(
            Instant::now() < deadline,
            "approval {id} was not answered; the page shows: {}",
            browser.run("return document.documentElement.outerHTML.slice(0, 3000)")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn login_link(d: &Daemon) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut answer = agent
        .post(format!("{}/v1/web/login-link", d.base))
        .header("Authorization", "Bearer test-token")
        .send_empty()
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap();
    doc["url"].as_str().unwrap().to_owned()
}

#[test]
fn a_person_answers_approvals_and_manages_grants_in_a_real_browser() {
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED (cannot run here): {why}");
        return;
    }
    let d = daemon();
    let job_id = job(&d);
    let browser = Browser::start(412, 915);

    // Without a session every page sends the browser to the login page.
    browser.goto(&format!("{}/ui/approvals", d.base));
    assert!(browser.url().ends_with("/ui/login"), "{}", browser.url());
    browser.goto(&login_link(&d));
    browser.wait_for("table.jobs", 10);
    browser.goto(&format!("{}/ui/approvals", d.base));
    browser.wait_for("#no-approvals", 10);
    browser.wait_for("body[data-ready='1']", 10);

    // 1. A request appears without a reload; its markup file name is text.
    let first = ask(&d, job_id, &["cat", XSS_NAME]);
    let id = wait_pending(&d, 1);
    let card = browser.wait_for(&format!("#approval-{id} .argv"), 10);
    // Shown as the words of the argv (quoted, since it has spaces): as text.
    let shown = browser.text(&card);
    assert!(shown.contains("<img src=x onerror="), "{shown}");
    assert_eq!(
        browser.run("return document.querySelectorAll('main img').length"),
        0
    );
    assert_ne!(browser.run("return document.title"), "pwned");
    browser.click(&format!("#approval-{id} button.approve"));
    let (answer, channel) = {
        wait_decided(&d, &browser, id);
        answer_of(first)
    };
    assert_eq!(answer, ApprovalAnswer::Yes);
    assert_eq!(channel, "web", "the channel that really answered");

    // 2. Deny one.
    let second = ask(&d, job_id, &["rm", "notes/old.txt"]);
    let id = wait_pending(&d, 1);
    browser.click(&format!("#approval-{id} button.deny"));
    assert_eq!(
        {
            wait_decided(&d, &browser, id);
            answer_of(second)
        }
        .0,
        ApprovalAnswer::No
    );

    // 3. Approve with a grant for the suggested shape, then revoke it.
    std::fs::create_dir_all(d.workspace.clone().join("notes")).unwrap();
    let third = ask(&d, job_id, &["cat", "notes/a.txt"]);
    let id = wait_pending(&d, 1);
    browser.click(&format!("#approval-{id} summary"));
    browser.click(&format!("#approval-{id} form.grant button"));
    assert_eq!(
        {
            wait_decided(&d, &browser, id);
            answer_of(third)
        }
        .0,
        ApprovalAnswer::Yes
    );
    let grants = d.ctx.with_store(|s| s.grants(true)).unwrap();
    assert_eq!(grants.len(), 1, "one grant made");
    assert_eq!(grants[0].pattern, "cat notes/*.txt");
    assert_eq!(grants[0].channel, "web");
    browser.goto(&format!("{}/ui/grants", d.base));
    browser.click(&format!("#grant-{} button", grants[0].id));
    browser.wait_for("#no-grants", 10);
    let grant = d
        .ctx
        .with_store(|s| s.grant(grants[0].id))
        .unwrap()
        .unwrap();
    assert!(grant.revoked_at.is_some(), "revoked from the page");

    // 4. Hostile class `cross-site-form-post`: a page elsewhere posts a form
    // to the approve URL in the person's browser; it is refused.
    let fourth = ask(&d, job_id, &["cat", "notes/b.txt"]);
    let id = wait_pending(&d, 1);
    let attack = format!(
        "data:text/html,<form method=post action='{}/ui/approvals/{id}/approve'>\
         <input name=csrf value=guess></form><script>document.forms[0].submit()</script>",
        d.base
    );
    browser.goto(&attack);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        pending_ids(&d),
        vec![id],
        "the cross-site post changed nothing"
    );
    let nonce = d.ctx.with_store(|s| s.approval(id)).unwrap().unwrap().nonce;
    d.ctx
        .decide_approval(id, nonce.expose(), RemoteAnswer::Deny, "cli", "test")
        .unwrap();
    assert_eq!(answer_of(fourth).0, ApprovalAnswer::No);

    // A screenshot of the job list for a person to look at.
    browser.goto(&format!("{}/ui/approvals", d.base));
    let pending = ask(&d, job_id, &["python3", "scripts/report.py", XSS_NAME]);
    let id = wait_pending(&d, 1);
    browser.wait_for(&format!("#approval-{id}"), 10);
    if let Ok(dir) = std::env::var("LEASH_WEB_SCREENSHOT_DIR") {
        std::fs::write(
            format!("{dir}/approvals.png.b64"),
            browser.screenshot_base64(),
        )
        .unwrap();
    }
    let nonce = d.ctx.with_store(|s| s.approval(id)).unwrap().unwrap().nonce;
    d.ctx
        .decide_approval(id, nonce.expose(), RemoteAnswer::Deny, "cli", "test")
        .unwrap();
    let _ = pending.join();
}

/// Page weight and time to interactive of the job list with 1,000 jobs,
/// measured in the browser (Navigation and Resource Timing); printed for
/// the notes. The assertions are about behaviour: all jobs are listed.
#[test]
fn the_job_list_with_a_thousand_jobs_loads_in_the_browser() {
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED (cannot run here): {why}");
        return;
    }
    let d = daemon();
    d.ctx
        .with_store(|s| {
            for n in 0..1000 {
                s.insert_job(&NewJob {
                    trigger_kind: TriggerSource::File,
                    trigger_name: Some("inbox".into()),
                    prompt: format!(
                        "sort the new file inbox/scan-{n:04}.pdf into a folder by its type"
                    ),
                    ..NewJob::default()
                })?;
            }
            Ok(())
        })
        .unwrap();
    let browser = Browser::start(412, 915);
    browser.goto(&login_link(&d));
    browser.wait_for("table.jobs", 10);
    let mut samples = Vec::new();
    for _ in 0..3 {
        browser.goto(&format!("{}/ui/", d.base));
        browser.wait_for("body[data-ready='1']", 10);
        let rows = browser.run("return document.querySelectorAll('table.jobs tbody tr').length");
        assert_eq!(rows, 1000);
        samples.push(browser.run(
            "const n = performance.getEntriesByType('navigation')[0];\
             const r = performance.getEntriesByType('resource');\
             return {html_bytes: n.transferSize, html_decoded: n.decodedBodySize,\
                     other_bytes: r.reduce((s, e) => s + e.transferSize, 0),\
                     interactive_ms: n.domInteractive, dcl_ms: n.domContentLoadedEventEnd,\
                     load_ms: n.loadEventEnd};",
        ));
    }
    eprintln!(
        "job list, 1000 jobs (3 loads): {}",
        serde_json::Value::from(samples)
    );
}
