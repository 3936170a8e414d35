//! Grants and bound approvals through the real runner: real policy, real
//! SQLite (the grants table), real child processes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use leash_core::approval::{ApprovalAnswer, ApprovalOutcome, ApprovalRequest, Approver};
use leash_core::{CommandReport, CommandRequest, Engine, GateOutcome, NotRunReason};
use leash_store::{GrantScope, NewGrant, Store};

use crate::{Fixture, audit};

/// A person who answers every request with `answer`, counting the requests,
/// and first runs `meanwhile` (what happens while the request waits).
pub(crate) struct Person {
    answer: ApprovalAnswer,
    pub(crate) asked: AtomicUsize,
    meanwhile: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    seen: Mutex<Vec<ApprovalRequest>>,
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Person")
    }
}

impl Person {
    pub(crate) fn new(answer: ApprovalAnswer) -> Person {
        Person {
            answer,
            asked: AtomicUsize::new(0),
            meanwhile: Mutex::new(None),
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl Approver for Person {
    fn ask(&self, request: &ApprovalRequest) -> ApprovalOutcome {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push(request.clone());
        if let Some(act) = self.meanwhile.lock().unwrap().take() {
            act();
        }
        ApprovalOutcome::Answered {
            answer: self.answer,
            channel: "test".into(),
            by: "test".into(),
            reason: None,
        }
    }
}

const SECURITY: &str = "  whitelist: [cat, sh, ls]\n  blacklist: [\"cat secret.txt\"]\n  require_approval_for: [cat, sh]\n";

pub(crate) fn run(engine: &Engine, person: &Person, argv: &[&str]) -> CommandReport {
    engine
        .runner(&engine.default_params(), person)
        .run(&CommandRequest {
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            cwd: engine.workspace.clone(),
            job_id: Some(7),
        })
        .unwrap()
}

fn grant(engine: &Engine, pattern: &str, scope: GrantScope) -> i64 {
    let store = Store::open(engine.grants.database()).unwrap();
    let program = pattern.split(' ').next().unwrap().to_owned();
    store
        .insert_grant(&NewGrant {
            program,
            pattern: pattern.to_owned(),
            roots: vec![engine.workspace.display().to_string()],
            scope,
            expires_at: None,
            granted_by: "test".into(),
            channel: "test".into(),
            approval_id: None,
        })
        .unwrap()
        .id
}

#[test]
fn a_grant_runs_what_would_ask_and_is_audited() {
    let f = Fixture::new();
    let engine = f.engine(SECURITY);
    std::fs::write(engine.workspace.join("a.txt"), "hello").unwrap();
    let person = Person::new(ApprovalAnswer::No);

    let asked = run(&engine, &person, &["cat", "a.txt"]);
    assert_eq!(
        asked.not_run(),
        Some(NotRunReason::Refused),
        "no grant: asks"
    );
    assert_eq!(person.asked.load(Ordering::SeqCst), 1);

    let id = grant(
        &engine,
        "cat *.txt",
        GrantScope::Workspace(engine.workspace.display().to_string()),
    );
    let granted = run(&engine, &person, &["cat", "a.txt"]);
    assert_eq!(granted.grant, Some(id));
    assert_eq!(granted.gate, GateOutcome::Run);
    assert!(granted.outcome().is_some(), "{granted:?}");
    assert_eq!(person.asked.load(Ordering::SeqCst), 1, "nobody was asked");
    let used: Vec<_> = audit(&engine)
        .into_iter()
        .filter(|(kind, _)| kind == "grant.used")
        .collect();
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].1["grant_id"], id);

    // Outside the pattern's shape, and in another job's scope: asked again.
    let other_shape = run(&engine, &person, &["cat", "-n", "a.txt"]);
    assert_eq!(other_shape.grant, None);
    assert_eq!(person.asked.load(Ordering::SeqCst), 2);
}

#[test]
fn a_job_scoped_grant_covers_only_its_job() {
    let f = Fixture::new();
    let engine = f.engine(SECURITY);
    std::fs::write(engine.workspace.join("a.txt"), "hello").unwrap();
    let person = Person::new(ApprovalAnswer::No);
    grant(&engine, "cat a.txt", GrantScope::Job(8));
    let report = run(&engine, &person, &["cat", "a.txt"]);
    assert_eq!(report.grant, None, "job 7 is not job 8");
    assert_eq!(report.not_run(), Some(NotRunReason::Refused));
}

/// Hostile class `grant-overrides-deny`: even a stored grant that covers a
/// blacklisted argv (written straight into the database, past the creation
/// check) never makes it run, and is never counted as used.
#[test]
fn a_grant_never_overrides_a_deny() {
    let f = Fixture::new();
    let engine = f.engine(SECURITY);
    std::fs::write(engine.workspace.join("secret.txt"), "key").unwrap();
    let person = Person::new(ApprovalAnswer::Yes);
    grant(
        &engine,
        "cat ...",
        GrantScope::Workspace(engine.workspace.display().to_string()),
    );
    let report = run(&engine, &person, &["cat", "secret.txt"]);
    assert_eq!(report.not_run(), Some(NotRunReason::Denied));
    assert_eq!(report.grant, None);
    assert!(report.outcome().is_none());
    assert_eq!(person.asked.load(Ordering::SeqCst), 0);
    assert!(
        !audit(&engine).iter().any(|(kind, _)| kind == "grant.used"),
        "a deny never uses a grant"
    );
}

/// Hostile class `approval-target-swap`: the script a person approved is
/// replaced while the request waits; nothing runs, the approval is void,
/// and the audit says what changed.
#[test]
fn swapping_the_script_after_approval_voids_it() {
    let f = Fixture::new();
    let engine = f.engine(SECURITY);
    let ws = engine.workspace.clone();
    std::fs::write(ws.join("s.sh"), "echo harmless > out.txt\n").unwrap();
    let person = Person::new(ApprovalAnswer::Yes);
    let script = ws.join("s.sh");
    *person.meanwhile.lock().unwrap() = Some(Box::new(move || {
        std::fs::write(&script, "echo evil > pwned.txt\n").unwrap();
    }));
    let report = run(&engine, &person, &["sh", "s.sh"]);
    assert_eq!(
        report.not_run(),
        Some(NotRunReason::ApprovalVoid),
        "{report:?}"
    );
    assert!(report.outcome().is_none());
    assert!(
        !ws.join("pwned.txt").exists(),
        "the swapped script never ran"
    );
    let records = audit(&engine);
    let void = records
        .iter()
        .find(|(kind, _)| kind == "approval.void")
        .expect("the void approval is audited");
    assert!(void.1["changes"].to_string().contains("s.sh"), "{}", void.1);
    assert!(!records.iter().any(|(kind, _)| kind == "command.started"));

    // The same approval with nothing swapped runs (the test can fail).
    let person = Person::new(ApprovalAnswer::Yes);
    let report = run(&engine, &person, &["sh", "s.sh"]);
    assert!(report.outcome().is_some(), "{report:?}");
    assert!(ws.join("pwned.txt").exists(), "the approved script ran");
    let seen = person.seen.lock().unwrap();
    let binding = seen[0]
        .binding
        .as_ref()
        .expect("the request carries its binding");
    assert!(binding.files.iter().any(|f| f.path.ends_with("s.sh")));
}
