//! A person who answers "grant" in-process (as the usefulness suite's
//! scripted person does): the grant is made through the same checks as the
//! API's, covers the next request of the same shape (nobody is asked, the
//! use is audited), and can never reach a denied argv. Real policy, real
//! SQLite, real child processes.

use std::sync::atomic::Ordering;

use leash_core::approval::{ApprovalAnswer, GrantScopeKind, GrantTerms};
use leash_core::{Engine, NotRunReason};
use leash_store::Store;

use crate::grants::{Person, run};
use crate::{Fixture, audit};

const SECURITY: &str =
    "  whitelist: [cat]\n  blacklist: [\"cat notes/secret.txt\"]\n  require_approval_for: [cat]\n";

fn granting_person() -> Person {
    Person::new(ApprovalAnswer::Grant(GrantTerms {
        scope: GrantScopeKind::Workspace,
        minutes: Some(60),
    }))
}

fn kinds(engine: &Engine, kind: &str) -> Vec<serde_json::Value> {
    audit(engine)
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, payload)| payload)
        .collect()
}

#[test]
fn a_grant_answer_covers_the_next_request_of_the_same_shape() {
    let f = Fixture::new();
    let engine = f.engine(SECURITY);
    std::fs::create_dir_all(engine.workspace.join("notes")).unwrap();
    for name in ["a.md", "b.md"] {
        std::fs::write(engine.workspace.join("notes").join(name), name).unwrap();
    }
    std::fs::write(engine.workspace.join("c.txt"), "c").unwrap();
    let person = granting_person();

    let first = run(&engine, &person, &["cat", "notes/a.md"]);
    assert!(
        first.outcome().is_some_and(|o| o.status.success()),
        "{first:?}"
    );
    assert_eq!(person.asked.load(Ordering::SeqCst), 1);
    let created = kinds(&engine, "grant.created");
    assert_eq!(created.len(), 1, "{created:?}");
    let grant = &created[0]["grant"];
    assert_eq!(grant["pattern"], "cat notes/*.md");
    assert_eq!(grant["channel"], "test");
    assert!(grant["expires_at"].is_string(), "{grant}");
    let answered = kinds(&engine, "approval.answered");
    // The answer record keeps the terms the person granted on.
    assert_eq!(
        answered[0]["answer"],
        serde_json::json!({"grant": {"scope": "workspace", "minutes": 60}})
    );
    let stored = Store::open(engine.grants.database())
        .unwrap()
        .grants(true)
        .unwrap();
    assert_eq!(stored.len(), 1);

    // The same shape: the grant answers, nobody is asked, the use is audited.
    let second = run(&engine, &person, &["cat", "notes/b.md"]);
    assert_eq!(second.grant, Some(stored[0].id));
    assert!(
        second.outcome().is_some_and(|o| o.status.success()),
        "{second:?}"
    );
    assert_eq!(person.asked.load(Ordering::SeqCst), 1, "nobody was asked");
    let used = kinds(&engine, "grant.used");
    assert_eq!(used.len(), 1);
    assert_eq!(used[0]["grant_id"], stored[0].id);

    // Another shape is asked again.
    let other = run(&engine, &person, &["cat", "c.txt"]);
    assert_eq!(other.grant, None);
    assert_eq!(person.asked.load(Ordering::SeqCst), 2);
}

/// Hostile class `grant-answer-covers-deny`: a person answers "grant" to a
/// command whose shape (`cat notes/*.txt`) would also cover a blacklisted
/// argv (`cat notes/secret.txt`). The grant is refused exactly as the API refuses it
/// (naming the denied argv), nothing is stored, only the approved command
/// runs, the next command of the shape is asked again, and the denied argv
/// is denied without asking anyone and never runs.
#[test]
fn a_grant_answer_that_would_cover_a_denied_argv_is_refused_and_the_deny_stands() {
    let f = Fixture::new();
    let engine = f.engine(SECURITY);
    std::fs::create_dir_all(engine.workspace.join("notes")).unwrap();
    for name in ["a.txt", "b.txt", "secret.txt"] {
        std::fs::write(engine.workspace.join("notes").join(name), name).unwrap();
    }
    let person = granting_person();

    let approved = run(&engine, &person, &["cat", "notes/a.txt"]);
    assert!(
        approved.outcome().is_some(),
        "the person said yes to it: {approved:?}"
    );
    let refused = kinds(&engine, "grant.refused");
    assert_eq!(refused.len(), 1, "{:?}", audit(&engine));
    let error = refused[0]["error"].as_str().unwrap();
    assert!(error.contains("cat notes/secret.txt"), "{error}");
    assert!(error.contains("can never allow what is denied"), "{error}");
    assert!(kinds(&engine, "grant.created").is_empty());
    assert!(
        Store::open(engine.grants.database())
            .unwrap()
            .grants(false)
            .unwrap()
            .is_empty(),
        "no grant was stored"
    );

    let again = run(&engine, &person, &["cat", "notes/b.txt"]);
    assert_eq!(again.grant, None);
    assert_eq!(
        person.asked.load(Ordering::SeqCst),
        2,
        "no grant: asked again"
    );

    let denied = run(&engine, &person, &["cat", "notes/secret.txt"]);
    assert_eq!(denied.not_run(), Some(NotRunReason::Denied), "{denied:?}");
    assert_eq!(person.asked.load(Ordering::SeqCst), 2, "a deny asks nobody");
    let started: Vec<_> = kinds(&engine, "command.started")
        .into_iter()
        .filter(|p| p["argv"].to_string().contains("secret.txt"))
        .collect();
    assert!(started.is_empty(), "{started:?}");
}
