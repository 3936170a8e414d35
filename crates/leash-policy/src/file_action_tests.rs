//! File actions judged as what they are: `match` (allowed) and `not_match`
//! (denied or asked) tables, and hostile cases that really build the trap
//! (a `.git` directory, leash's own config, a symlink out of the workspace).

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use rstest::rstest;

use crate::{Decision, FileAction, Platform, Policy, PolicySettings};

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    ws: PathBuf,
    bin: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let (bin, ws, home) = (root.join("bin"), root.join("ws"), root.join("home"));
    for d in [
        &bin,
        &ws.join("docs"),
        &ws.join(".git/hooks"),
        &ws.join(".leash/trash/t1"),
        &home.join(".ssh"),
        &root.join("config/leash"),
        &root.join("outside"),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    // Stand-ins for coreutils: the policy only resolves them, never runs them.
    for p in ["mv", "cp", "mkdir", "ls"] {
        std::fs::write(bin.join(p), "#!/bin/true\n").unwrap();
        std::fs::set_permissions(bin.join(p), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(ws.join("notes.txt"), "n").unwrap();
    std::fs::write(ws.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(root.join("config/leash/config.yaml"), "x").unwrap();
    std::fs::write(root.join("outside/victim.txt"), "keep").unwrap();
    std::fs::write(home.join(".ssh/id_rsa"), "secret").unwrap();
    symlink(root.join("outside"), ws.join("out-link")).unwrap();
    symlink(root.join("outside/victim.txt"), ws.join("victim-link.txt")).unwrap();
    symlink(root.join("config/leash"), ws.join("cfg-link")).unwrap();
    Fixture {
        _tmp: tmp,
        root,
        ws,
        bin,
    }
}

fn settings(f: &Fixture) -> PolicySettings {
    let mut s = PolicySettings::for_platform(f.ws.clone(), f.root.join("home"), &Platform::Linux);
    s.search_path = vec![f.bin.clone()];
    // Not one carrier is whitelisted: file actions do not need that.
    s.whitelist = vec!["ls".into()];
    s.protected_paths = vec![f.root.join("config/leash")];
    s
}

fn check(f: &Fixture, action: FileAction<'_>) -> crate::Verdict {
    Policy::load(settings(f))
        .unwrap()
        .check_file_action(&action, &f.ws)
}

fn trash(f: &Fixture) -> String {
    f.ws.join(".leash/trash/t1").display().to_string()
}

#[rstest]
#[case::write_new_file(FileAction::Write { path: "todo.txt" })]
#[case::write_existing_file(FileAction::Write { path: "notes.txt" })]
#[case::write_in_subdir(FileAction::Write { path: "docs/a.md" })]
#[case::mkdir_nested(FileAction::Mkdir { path: "archive/2024" })]
#[case::move_rename(FileAction::Move { from: "notes.txt", to: "renamed.txt" })]
#[case::move_into_dir(FileAction::Move { from: "notes.txt", to: "docs" })]
#[case::copy_file(FileAction::Copy { from: "notes.txt", to: "notes.bak" })]
#[case::copy_into_dir(FileAction::Copy { from: "notes.txt", to: "docs/" })]
#[case::dot_dot_inside(FileAction::Write { path: "docs/../x.txt" })]
fn file_actions_inside_the_workspace_are_allowed(#[case] action: FileAction<'static>) {
    let f = fixture();
    let v = check(&f, action);
    assert_eq!(
        v.decision,
        Decision::Allow,
        "{action:?}: {} {}",
        v.rule,
        v.reason
    );
    assert_eq!(v.command.is_some(), action.carrier().is_some());
}

#[test]
fn delete_to_the_trash_is_allowed_without_a_whitelisted_mv() {
    let f = fixture();
    let t = trash(&f);
    let v = check(
        &f,
        FileAction::Delete {
            path: "notes.txt",
            trash: &t,
        },
    );
    assert_eq!(v.decision, Decision::Allow, "{} {}", v.rule, v.reason);
    let command = v.command.unwrap();
    assert_eq!(command.program, f.bin.join("mv"));
    assert_eq!(command.argv, ["mv", "--", "notes.txt", &format!("{t}/")]);
}

#[rstest]
#[case::write_git_config(FileAction::Write { path: ".git/config" }, "paths.git-internal")]
#[case::write_git_hook(FileAction::Write { path: ".git/hooks/pre-commit" }, "paths.git-internal")]
#[case::mkdir_in_git(FileAction::Mkdir { path: ".git/hooks/x" }, "paths.git-internal")]
#[case::move_into_git(FileAction::Move { from: "notes.txt", to: ".git/hooks/post-checkout" }, "paths.git-internal")]
#[case::copy_into_git_dir(FileAction::Copy { from: "notes.txt", to: ".git/hooks" }, "paths.git-internal")]
#[case::move_git_dir_away(FileAction::Move { from: ".git", to: "old-git" }, "paths.git-internal")]
#[case::write_outside_by_dot_dot(FileAction::Write { path: "../outside/new.txt" }, "paths.write-outside-roots")]
#[case::write_absolute_outside(FileAction::Write { path: "/etc/leash-test" }, "paths.write-outside-roots")]
#[case::write_through_dir_symlink(FileAction::Write { path: "out-link/new.txt" }, "paths.write-outside-roots")]
#[case::write_through_file_symlink(FileAction::Write { path: "victim-link.txt" }, "paths.write-outside-roots")]
#[case::copy_to_dir_symlink(FileAction::Copy { from: "notes.txt", to: "out-link" }, "paths.write-outside-roots")]
#[case::move_outside_file_in(FileAction::Move { from: "../outside/victim.txt", to: "v.txt" }, "paths.write-outside-roots")]
#[case::write_leash_config_via_symlink(FileAction::Write { path: "cfg-link/config.yaml" }, "")]
#[case::copy_secret(FileAction::Copy { from: "../home/.ssh/id_rsa", to: "k.txt" }, "paths.denied")]
#[case::move_workspace_itself(FileAction::Move { from: ".", to: "docs/ws" }, "")]
#[case::empty_path(FileAction::Mkdir { path: "" }, "")]
#[case::nul_in_path(FileAction::Write { path: "a\0b" }, "")]
fn hostile_file_actions_are_denied(#[case] action: FileAction<'static>, #[case] rule: &str) {
    let f = fixture();
    let v = check(&f, action);
    assert_eq!(
        v.decision,
        Decision::Deny,
        "{action:?}: {} {}",
        v.rule,
        v.reason
    );
    if !rule.is_empty() {
        assert_eq!(v.rule, rule, "{action:?}: {}", v.reason);
    }
}

#[test]
fn delete_of_the_workspace_or_a_git_dir_is_denied() {
    let f = fixture();
    let t = trash(&f);
    for path in [".", ".git", "../ws", f.ws.to_str().unwrap()] {
        let v = check(&f, FileAction::Delete { path, trash: &t });
        assert_eq!(
            v.decision,
            Decision::Deny,
            "{path}: {} {}",
            v.rule,
            v.reason
        );
    }
}

#[test]
fn the_seed_lists_apply_to_the_carrier() {
    let f = fixture();
    let mut s = settings(&f);
    s.blacklist = vec!["cp".into()];
    s.require_approval_for = vec!["mv".into()];
    let policy = Policy::load(s).unwrap();
    let copy = policy.check_file_action(
        &FileAction::Copy {
            from: "notes.txt",
            to: "b",
        },
        &f.ws,
    );
    assert_eq!(copy.decision, Decision::Deny, "{}", copy.rule);
    assert_eq!(copy.rule, "seed.blacklist");
    let mv = policy.check_file_action(
        &FileAction::Move {
            from: "notes.txt",
            to: "b",
        },
        &f.ws,
    );
    assert_eq!(mv.decision, Decision::Ask, "{}", mv.rule);
    let write = policy.check_file_action(&FileAction::Write { path: "b" }, &f.ws);
    assert_eq!(write.decision, Decision::Allow, "{}", write.rule);
}

#[test]
fn a_missing_carrier_program_fails_closed() {
    let f = fixture();
    std::fs::remove_file(f.bin.join("mkdir")).unwrap();
    let v = check(&f, FileAction::Mkdir { path: "new" });
    assert_eq!(v.decision, Decision::Deny, "{} {}", v.rule, v.reason);
    assert!(v.command.is_none());
    assert!(Path::new(&f.ws).join("notes.txt").exists());
}
