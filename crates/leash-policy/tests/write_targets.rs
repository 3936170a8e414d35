//! The write targets the rollback journal saves before a command runs, named
//! from the policy's own parse of the argv.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{Fixture, Profile};
use leash_policy::WriteTargets;
use rstest::rstest;

fn targets(fixture: &Fixture, argv: &[&str]) -> WriteTargets {
    let policy = fixture.policy(Profile::Default);
    policy.write_targets(argv, &fixture.workspace)
}

fn paths(t: &WriteTargets) -> Vec<(PathBuf, bool)> {
    t.targets
        .iter()
        .map(|t| (t.path.clone(), t.recursive))
        .collect()
}

/// Each journaled program names exactly the files it writes, and nothing it
/// only reads.
#[rstest]
#[case(&["cp", "a.txt", "b.txt"], &[("b.txt", false)])]
#[case(&["cp", "-r", "src", "copy"], &[("copy", true)])]
#[case(&["cp", "-r", "src/.", "sub"], &[("sub", true)])]
#[case(&["mv", "a.txt", "b.txt"], &[("a.txt", false), ("b.txt", false)])]
#[case(&["tee", "-a", "log.txt"], &[("log.txt", false)])]
#[case(&["sed", "-i", "s/a/b/", "a.txt"], &[("a.txt", false)])]
#[case(&["touch", "t1", "t2"], &[("t1", false), ("t2", false)])]
#[case(&["sort", "-o", "out.txt", "a.txt"], &[("out.txt", false)])]
#[case(&["tar", "-xf", "a.tar"], &[("", true)])]
#[case(&["tar", "-x", "-f", "a.tar", "-C", "sub"], &[("sub", true)])]
#[case(&["mkdir", "-p", "new/dir"], &[("new/dir", false)])]
#[case(&["env", "LANG=C", "touch", "x"], &[("x", false)])]
#[case(&["cat", "a.txt"], &[])]
fn typed_write_targets_are_named(#[case] argv: &[&str], #[case] want: &[(&str, bool)]) {
    let fixture = Fixture::new();
    let ws = &fixture.workspace;
    std::fs::create_dir_all(ws.join("sub")).unwrap();
    let got = targets(&fixture, argv);
    let want: Vec<(PathBuf, bool)> = want
        .iter()
        .map(|(p, r)| {
            let path = if p.is_empty() { ws.clone() } else { ws.join(p) };
            (path, *r)
        })
        .collect();
    assert_eq!(paths(&got), want, "{argv:?}");
    assert!(got.unknown.is_empty(), "{argv:?}: {:?}", got.unknown);
}

/// A destination directory is written as `DIR/basename(SRC)`.
#[test]
fn a_directory_destination_names_the_entry_inside_it() {
    let fixture = Fixture::new();
    let ws = &fixture.workspace;
    std::fs::create_dir_all(ws.join("box")).unwrap();
    let got = targets(&fixture, &["mv", "a.txt", "b.txt", "box"]);
    assert_eq!(
        paths(&got),
        vec![
            (ws.join("a.txt"), false),
            (ws.join("b.txt"), false),
            (ws.join("box/a.txt"), false),
            (ws.join("box/b.txt"), false),
        ]
    );
}

/// A symlink among the targets is named at the file the write really opens.
#[test]
fn a_symlinked_target_is_named_at_its_final_path() {
    let fixture = Fixture::new();
    let ws = &fixture.workspace;
    std::fs::create_dir_all(ws.join("real")).unwrap();
    std::os::unix::fs::symlink("real/file.txt", ws.join("link.txt")).unwrap();
    let got = targets(&fixture, &["tee", "link.txt"]);
    assert_eq!(paths(&got), vec![(ws.join("real/file.txt"), false)]);
}

/// Commands whose effects the grammar cannot name say why: no complete
/// grammar, a script that writes, a repository's own files, the network.
#[rstest]
#[case(&["make"], "no complete grammar")]
#[case(&["python3", "x.py"], "no complete grammar")]
#[case(&["sed", "-i", "w out", "a.txt"], "script")]
#[case(&["git", "checkout", "--", "a.txt"], "repository")]
fn unknown_effects_are_reported(#[case] argv: &[&str], #[case] why: &str) {
    let fixture = Fixture::new();
    let got = targets(&fixture, argv);
    assert!(
        got.unknown.iter().any(|u| u.contains(why)),
        "{argv:?}: {:?}",
        got.unknown
    );
}

#[test]
fn network_effects_are_beyond_files() {
    let fixture = Fixture::new();
    let policy = fixture.policy(Profile::Network);
    let got = policy.write_targets(
        &["curl", "-o", "x", "https://example.org"],
        &fixture.workspace,
    );
    assert!(!got.beyond_files.is_empty(), "{got:?}");
    assert_eq!(paths(&got), vec![(fixture.workspace.join("x"), false)]);
}

/// The class: an option value that names a backup (`sed -i SUFFIX`, `perl
/// -i SUFFIX`, `cp -S SUFFIX`). Every path the command writes, with the
/// suffix, is a write target too, so undo removes or restores the backups;
/// a `*` in the suffix is read every way an implementation reads it.
#[rstest]
#[case(&["sed", "-i.bak", "s/a/b/", "a.txt"], &["a.txt", "a.txt.bak"])]
#[case(&["sed", "--in-place=.orig", "s/a/b/", "a.txt"], &["a.txt", "a.txt.orig"])]
#[case(&["sed", "-i", "s/a/b/", "a.txt"], &["a.txt"])]
#[case(&["sed", "--in-place=", "s/a/b/", "a.txt"], &["a.txt"])]
#[case(&["sed", "-iold_*", "s/a/b/", "sub/a.txt"], &["sub/a.txt", "sub/a.txtold_*", "sub/old_a.txt", "old_sub/a.txt"])]
#[case(&["perl", "-i.bak", "-pe", "1", "a.txt"], &["a.txt", "a.txt.bak"])]
#[case(&["cp", "-S", ".old", "a.txt", "b.txt"], &["b.txt", "b.txt.old"])]
#[case(&["cp", "--suffix=~", "a.txt", "sub"], &["sub/a.txt", "sub/a.txt~"])]
#[case(&["mv", "-S", ".old", "a.txt", "b.txt"], &["a.txt", "b.txt", "a.txt.old", "b.txt.old"])]
fn backup_suffixes_name_the_backups(#[case] argv: &[&str], #[case] want: &[&str]) {
    let fixture = Fixture::new();
    let ws = &fixture.workspace;
    std::fs::create_dir_all(ws.join("sub")).unwrap();
    let got = targets(&fixture, argv);
    let want: Vec<(PathBuf, bool)> = want.iter().map(|p| (ws.join(p), false)).collect();
    let mut got_paths = paths(&got);
    got_paths.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got_paths, want_sorted, "{argv:?}");
}

/// A suffix with `/../` is named at the path it really reaches, so the
/// journal (and the policy) see the final place, not the spelling.
#[test]
fn a_backup_suffix_with_dot_dot_is_named_at_its_final_path() {
    let fixture = Fixture::new();
    let ws = &fixture.workspace;
    std::fs::create_dir_all(ws.join("sub")).unwrap();
    let got = targets(&fixture, &["sed", "-i/../escaped", "s/a/b/", "sub/a.txt"]);
    assert!(
        got.targets.iter().any(|t| t.path == ws.join("sub/escaped")),
        "{:?}",
        got.targets
    );
}
