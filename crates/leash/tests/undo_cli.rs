//! `leash undo` as a person uses it: the real binary runs a command through
//! `leash exec` (journaled before it runs), then undoes it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use common::{TestHome, text};

const CONFIG: &str = r#"
security:
  execution_mode: auto-approve
  whitelist: [sed, cat, tee, make, cp]
logging:
  level: warn
"#;

fn home() -> TestHome {
    let home = TestHome::new();
    home.write_config(CONFIG);
    std::fs::write(home.workspace().join("a.txt"), "hello\n").unwrap();
    home.hand_over(&home.workspace());
    home
}

#[test]
fn undo_last_restores_what_exec_changed() {
    let home = home();
    let out = home.run(&["exec", "--", "sed", "-i", "s/hello/bye/", "a.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let a = home.workspace().join("a.txt");
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "bye\n");

    let dry = home.run(&["undo", "--last", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert!(
        text(&dry.stdout).contains("would restore"),
        "{}",
        text(&dry.stdout)
    );
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "bye\n");

    let undo = home.run(&["--json", "undo", "--last"]);
    assert_eq!(undo.status.code(), Some(0), "{}", text(&undo.stderr));
    let report: serde_json::Value = serde_json::from_slice(&undo.stdout).unwrap();
    assert_eq!(report["entries"][0]["status"], "restored");
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "hello\n");
    let kinds = home.audit_kinds();
    for kind in ["undo.journaled", "undo.started", "undo.restored"] {
        assert!(kinds.iter().any(|k| k == kind), "{kinds:?}");
    }
    home.assert_audit_verifies();

    let nothing = home.run(&["undo", "--last"]);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(
        text(&nothing.stderr).contains("nothing to undo"),
        "{}",
        text(&nothing.stderr)
    );
}

#[test]
fn a_file_changed_since_stops_undo_until_forced() {
    let home = home();
    let out = home.run(&["exec", "--", "sed", "-i", "s/hello/bye/", "a.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let a = home.workspace().join("a.txt");
    std::fs::write(&a, "my own edit\n").unwrap();
    let refused = home.run(&["undo", "--last"]);
    assert_eq!(refused.status.code(), Some(1));
    let err = text(&refused.stderr);
    assert!(err.contains("a.txt") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "my own edit\n");
    let forced = home.run(&["undo", "--last", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "hello\n");
    assert!(
        text(&forced.stdout).contains("--action"),
        "{}",
        text(&forced.stdout)
    );
}

#[test]
fn gc_and_bad_arguments() {
    let home = home();
    let gc = home.run(&["undo", "--gc"]);
    assert_eq!(gc.status.code(), Some(0), "{}", text(&gc.stderr));
    assert!(text(&gc.stdout).contains("pruned"), "{}", text(&gc.stdout));
    let none = home.run(&["undo"]);
    assert_eq!(none.status.code(), Some(2));
}

/// The class: a command whose option value names a backup (`sed -i SUFFIX`,
/// `cp -S SUFFIX`). The backups are journaled like the files they copy, so
/// `leash undo` removes a backup that did not exist and restores one that
/// did: the workspace is exactly as before, byte for byte and mode for mode.
#[test]
fn undo_removes_or_restores_the_backups_a_suffix_named() {
    let home = home();
    let ws = home.workspace();
    std::fs::write(ws.join("b.txt"), "old b\n").unwrap();
    // An older backup that `cp -S` will overwrite: undo must bring it back.
    std::fs::write(ws.join("b.txt.old"), "older backup\n").unwrap();
    home.hand_over(&ws);
    let before = tree(&ws);

    let sed = home.run(&["exec", "--", "sed", "-i.bak", "s/hello/bye/", "a.txt"]);
    assert_eq!(sed.status.code(), Some(0), "{}", text(&sed.stderr));
    assert_eq!(
        std::fs::read_to_string(ws.join("a.txt.bak")).unwrap(),
        "hello\n"
    );
    let cp = home.run(&["exec", "--", "cp", "-S", ".old", "a.txt", "b.txt"]);
    assert_eq!(cp.status.code(), Some(0), "{}", text(&cp.stderr));
    assert_eq!(
        std::fs::read_to_string(ws.join("b.txt.old")).unwrap(),
        "old b\n"
    );
    assert_ne!(tree(&ws), before);

    for _ in 0..2 {
        let undo = home.run(&["undo", "--last"]);
        assert_eq!(undo.status.code(), Some(0), "{}", text(&undo.stderr));
    }
    assert_eq!(tree(&ws), before);
    home.assert_audit_verifies();
}

/// Every entry of a directory (not recursive: the tests' workspaces are
/// flat) with its content and permission bits, sorted by name.
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            let content = if meta.is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            (
                e.file_name().to_string_lossy().into_owned(),
                content,
                meta.permissions().mode(),
            )
        })
        .collect();
    out.sort();
    out
}
