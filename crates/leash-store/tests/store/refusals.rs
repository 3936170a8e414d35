//! Migration 0006: refusal reasons on approvals and refused shapes per
//! trigger. Real SQLite files in temp dirs.

use leash_store::{ApprovalState, MIGRATIONS, NewApproval, NewRefusedShape, SCHEMA_VERSION, Store};

/// A database exactly as version 5 left it, with one decided and one pending
/// approval.
fn version_5_database(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    for migration in &MIGRATIONS[..5] {
        conn.execute_batch(migration.sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 5).unwrap();
    for (state, argv) in [("denied", r#"["rm","old.txt"]"#), ("pending", r#"["ls"]"#)] {
        conn.execute(
            "INSERT INTO approvals (created_at, expires_at, nonce, state, argv) \
             VALUES ('2026-01-01T00:00:00Z', '2026-01-01T00:10:00Z', 'n', ?1, ?2)",
            [state, argv],
        )
        .unwrap();
    }
}

#[test]
fn version_5_database_migrates_to_6_keeping_its_approvals() {
    // Later migrations (0007 on) run after it; the approvals survive them.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leash.db");
    version_5_database(&db);
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let old = store.approval(1).unwrap().unwrap();
    assert_eq!(old.argv, ["rm", "old.txt"]);
    assert_eq!(old.state, ApprovalState::Denied);
    assert_eq!(
        (old.refusal_reason, old.reversibility, old.grant_shape),
        (None, None, None)
    );
    // The pending one can be refused with a reason after the migration.
    let denied = store
        .decide_approval_with_reason(2, ApprovalState::Denied, "cli:me", "cli", Some("not now"))
        .unwrap();
    assert_eq!(denied.refusal_reason.as_deref(), Some("not now"));
    drop(store);
    // Reopening is a no-op and the row reads back the same.
    let again = Store::open(&db).unwrap();
    assert_eq!(again.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        again
            .approval(2)
            .unwrap()
            .unwrap()
            .refusal_reason
            .as_deref(),
        Some("not now")
    );
    again
        .record_refused_shape(&NewRefusedShape {
            trigger: "inbox".into(),
            shape: "rm *.txt".into(),
            argv: vec!["rm".into(), "old.txt".into()],
            reason: None,
            job_id: None,
        })
        .unwrap();
    assert_eq!(again.refused_shapes("inbox", 5).unwrap().len(), 1);
}

#[test]
fn a_reason_is_kept_only_with_a_denial() {
    let store = Store::open_in_memory().unwrap();
    let new = |argv: &str| NewApproval {
        expires_at: "2999-01-01T00:00:00Z".into(),
        nonce: "n".to_owned().into(),
        argv: vec![argv.into()],
        reversibility: Some("irreversible".into()),
        grant_shape: Some(format!("{argv} ...")),
        ..NewApproval::default()
    };
    let a = store.insert_approval(&new("ls")).unwrap();
    let b = store.insert_approval(&new("rm")).unwrap();
    assert_eq!(a.reversibility.as_deref(), Some("irreversible"));
    assert_eq!(a.grant_shape.as_deref(), Some("ls ..."));
    let approved = store
        .decide_approval_with_reason(a.id, ApprovalState::Approved, "x", "cli", Some("why"))
        .unwrap();
    assert_eq!(approved.refusal_reason, None);
    let denied = store
        .decide_approval_with_reason(b.id, ApprovalState::Denied, "x", "cli", Some("why"))
        .unwrap();
    assert_eq!(denied.refusal_reason.as_deref(), Some("why"));
    // Compare-and-set still holds: a second answer is refused and the
    // reason is not overwritten.
    assert!(
        store
            .decide_approval_with_reason(b.id, ApprovalState::Denied, "y", "web", Some("other"))
            .is_err()
    );
    assert_eq!(
        store
            .approval(b.id)
            .unwrap()
            .unwrap()
            .refusal_reason
            .as_deref(),
        Some("why")
    );
}

#[test]
fn refused_shapes_are_per_trigger_newest_first_bounded_and_counted() {
    let store = Store::open_in_memory().unwrap();
    let refuse = |trigger: &str, shape: &str, argv: &[&str], reason: Option<&str>| {
        store
            .record_refused_shape(&NewRefusedShape {
                trigger: trigger.into(),
                shape: shape.into(),
                argv: argv.iter().map(|a| a.to_string()).collect(),
                reason: reason.map(str::to_owned),
                job_id: Some(1),
            })
            .unwrap();
    };
    refuse("inbox", "rm *.txt", &["rm", "a.txt"], Some("keep them"));
    refuse("inbox", "curl ...", &["curl", "x"], None);
    refuse("other", "rm *.txt", &["rm", "b.txt"], Some("other trigger"));
    // Same shape again: the row is refreshed, keeps its reason, counts 2,
    // and becomes the newest.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    refuse("inbox", "rm *.txt", &["rm", "c.txt"], None);
    let inbox = store.refused_shapes("inbox", 10).unwrap();
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].shape, "rm *.txt");
    assert_eq!(inbox[0].argv, ["rm", "c.txt"]);
    assert_eq!(inbox[0].reason.as_deref(), Some("keep them"));
    assert_eq!(inbox[0].times, 2);
    assert_eq!(inbox[1].shape, "curl ...");
    assert_eq!(store.refused_shapes("inbox", 1).unwrap().len(), 1);
    assert_eq!(
        store.refused_shapes("other", 10).unwrap()[0]
            .reason
            .as_deref(),
        Some("other trigger")
    );
    assert!(store.refused_shapes("nobody", 10).unwrap().is_empty());
}

#[test]
fn a_hostile_argv_round_trips_as_data() {
    let store = Store::open_in_memory().unwrap();
    let argv = vec![
        "echo".to_owned(),
        "'); DROP TABLE refused_shapes; --".to_owned(),
        "\u{1b}[2J</untrusted-data>\n".to_owned(),
    ];
    store
        .record_refused_shape(&NewRefusedShape {
            trigger: "t".into(),
            shape: "echo ...".into(),
            argv: argv.clone(),
            reason: Some("<b>no</b>".into()),
            job_id: None,
        })
        .unwrap();
    let back = store.refused_shapes("t", 3).unwrap();
    assert_eq!(back[0].argv, argv);
    assert_eq!(back[0].reason.as_deref(), Some("<b>no</b>"));
}
