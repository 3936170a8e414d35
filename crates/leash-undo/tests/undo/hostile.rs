//! Hostile cases: each does the bad thing for real.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::*;

/// Class `changed-since`: a target edited after the job is not overwritten;
/// the refusal names the path and what differs, and is audited.
#[test]
fn a_target_changed_since_is_not_overwritten() {
    let ws = Ws::new();
    ws.write("a.txt", "v1\n");
    ws.run(1, &["sed", "-i", "s/v1/v2/", "a.txt"]);
    ws.write("a.txt", "a person's edit\n");
    let err = ws.undo(Selection::Job(1), false).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, UndoError::Changed { .. }), "{text}");
    assert!(
        text.contains("a.txt") && text.contains("content differs"),
        "{text}"
    );
    assert_eq!(ws.read("a.txt"), "a person's edit\n");
    let kinds: Vec<String> = ws
        .audit
        .all()
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert!(kinds.contains(&"undo.refused".to_owned()), "{kinds:?}");
}

/// `--force` restores anyway, journaling the current content first, so the
/// undo can itself be undone.
#[test]
fn force_journals_the_current_content_first() {
    let ws = Ws::new();
    ws.write("a.txt", "v1\n");
    ws.run(1, &["sed", "-i", "s/v1/v2/", "a.txt"]);
    ws.write("a.txt", "a person's edit\n");
    let report = ws.undo(Selection::Job(1), true).unwrap();
    assert_eq!(ws.read("a.txt"), "v1\n");
    let forced = report.entries[0].forced_entry.expect("a forced entry");
    ws.undo(Selection::Entry(forced), false).unwrap();
    assert_eq!(ws.read("a.txt"), "a person's edit\n");
}

/// Class `two-jobs-one-file`: undoing the older job refuses while the newer
/// job's change stands; undoing newest first works.
#[test]
fn the_older_of_two_jobs_on_one_file_refuses() {
    let ws = Ws::new();
    ws.write("a.txt", "v1\n");
    ws.run(1, &["sed", "-i", "s/v1/v2/", "a.txt"]);
    ws.run(2, &["sed", "-i", "s/v2/v3/", "a.txt"]);
    let err = ws.undo(Selection::Job(1), false).unwrap_err().to_string();
    assert!(err.contains("later journal entries"), "{err}");
    assert_eq!(ws.read("a.txt"), "v3\n");
    ws.undo(Selection::Job(2), false).unwrap();
    ws.undo(Selection::Job(1), false).unwrap();
    assert_eq!(ws.read("a.txt"), "v1\n");
}

/// Class `deleted-and-recreated`: same name, new file: not leash's to overwrite.
#[test]
fn a_deleted_and_recreated_target_refuses() {
    let ws = Ws::new();
    ws.write("a.txt", "v1\n");
    ws.run(1, &["sed", "-i", "s/v1/v2/", "a.txt"]);
    let content = ws.read("a.txt");
    std::fs::remove_file(ws.p("a.txt")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ws.write("a.txt", &content);
    let err = ws.undo(Selection::Job(1), false).unwrap_err().to_string();
    assert!(err.contains("a.txt"), "{err}");
    assert_eq!(ws.read("a.txt"), "v2\n");
}

/// Class `target-replaced-by-directory`: refused; with `--force` the
/// directory (and what is in it) is journaled before the file comes back.
#[test]
fn a_target_replaced_by_a_directory() {
    let ws = Ws::new();
    ws.write("a.txt", "v1\n");
    ws.run(1, &["sed", "-i", "s/v1/v2/", "a.txt"]);
    std::fs::remove_file(ws.p("a.txt")).unwrap();
    ws.write("a.txt/inside.txt", "someone's data\n");
    let err = ws.undo(Selection::Job(1), false).unwrap_err().to_string();
    assert!(err.contains("was a file, now a directory"), "{err}");
    assert!(ws.p("a.txt/inside.txt").exists());
    let report = ws.undo(Selection::Job(1), true).unwrap();
    assert_eq!(ws.read("a.txt"), "v1\n");
    let forced = report.entries[0].forced_entry.unwrap();
    ws.undo(Selection::Entry(forced), false).unwrap();
    assert_eq!(ws.read("a.txt/inside.txt"), "someone's data\n");
}

/// Class `symlink-in-the-way`: a directory on the target's path replaced by
/// a symlink to outside: undo refuses even with `--force`, and writes
/// nothing outside.
#[test]
fn undo_never_writes_through_a_symlinked_directory() {
    let ws = Ws::new();
    ws.write("sub/a.txt", "v1\n");
    ws.run(1, &["sed", "-i", "s/v1/v2/", "sub/a.txt"]);
    let outside = ws.root.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("a.txt"), "v2\n").unwrap();
    std::fs::rename(ws.p("sub"), ws.root.join("moved-away")).unwrap();
    std::os::unix::fs::symlink(&outside, ws.p("sub")).unwrap();
    for force in [false, true] {
        let err = ws.undo(Selection::Job(1), force).unwrap_err();
        assert!(matches!(err, UndoError::Unsafe { .. }), "{err}");
    }
    assert_eq!(
        std::fs::read_to_string(outside.join("a.txt")).unwrap(),
        "v2\n"
    );
}

/// Class `symlink-target`: the target itself swapped for a symlink to a file
/// outside: refused; forced, the link is replaced, never followed.
#[test]
fn a_target_swapped_for_a_symlink_is_replaced_not_followed() {
    let ws = Ws::new();
    ws.write("a.txt", "v1\n");
    ws.run(1, &["sed", "-i", "s/v1/v2/", "a.txt"]);
    let outside = ws.root.join("outside.txt");
    std::fs::write(&outside, "v2\n").unwrap();
    std::fs::remove_file(ws.p("a.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, ws.p("a.txt")).unwrap();
    assert!(ws.undo(Selection::Job(1), false).is_err());
    ws.undo(Selection::Job(1), true).unwrap();
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "v2\n");
    assert!(
        !std::fs::symlink_metadata(ws.p("a.txt"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(ws.read("a.txt"), "v1\n");
}

/// Class `symlink-among-targets`: a write through a link is journaled at the
/// file it reaches, and the link stays a link after undo.
#[test]
fn a_write_through_a_symlink_is_journaled_at_its_target() {
    let ws = Ws::new();
    ws.write("real/file.txt", "v1\n");
    std::os::unix::fs::symlink("real/file.txt", ws.p("link.txt")).unwrap();
    let before = ws.tree_hash();
    let plan = ws.run(
        1,
        &["sed", "-i", "--follow-symlinks", "s/v1/v2/", "link.txt"],
    );
    assert_eq!(
        plan.paths().collect::<Vec<_>>(),
        vec![ws.p("real/file.txt").as_path()]
    );
    assert_eq!(ws.read("real/file.txt"), "v2\n");
    ws.undo(Selection::Job(1), false).unwrap();
    assert_eq!(ws.tree_hash(), before);
}

/// Class `hard-link-among-targets`: a target hard-linked to a file outside
/// the roots: undo restores the target by rename and leaves the outside
/// file alone (it never writes through the shared inode).
#[test]
fn undo_never_writes_through_a_hard_link() {
    let ws = Ws::new();
    let outside = ws.root.join("outside.txt");
    std::fs::write(&outside, "v1\n").unwrap();
    std::fs::hard_link(&outside, ws.p("a.txt")).unwrap();
    ws.run(1, &["tee", "a.txt"]);
    // tee rewrote the shared inode (the policy's business, not undo's).
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "");
    ws.undo(Selection::Job(1), false).unwrap();
    assert_eq!(ws.read("a.txt"), "v1\n");
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "",
        "undo wrote through a hard link"
    );
}

/// Undo refuses a journaled path outside the roots it is given.
#[test]
fn undo_stays_inside_the_roots() {
    let ws = Ws::new();
    ws.write("a.txt", "v1\n");
    ws.run(1, &["sed", "-i", "s/v1/v2/", "a.txt"]);
    let err = leash_undo::undo(
        &ws.journal,
        &ws.audit,
        Selection::Job(1),
        &UndoOptions {
            dry_run: false,
            force: true,
            roots: vec![ws.root.join("elsewhere")],
        },
    )
    .unwrap_err();
    assert!(matches!(err, UndoError::Unsafe { .. }), "{err}");
    assert_eq!(ws.read("a.txt"), "v2\n");
}

/// Class `hostile-names`: names with newlines and invalid UTF-8 round-trip.
#[test]
fn names_with_newlines_and_invalid_utf8_round_trip() {
    let ws = Ws::new();
    let src = ws.p("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("line\nbreak.txt"), "nl").unwrap();
    std::fs::write(src.join(OsStr::from_bytes(b"bad\xff\xfe.bin")), "bytes").unwrap();
    std::fs::create_dir_all(ws.p("copy")).unwrap();
    std::fs::write(ws.p("copy").join(OsStr::from_bytes(b"old\xff")), "keep me").unwrap();
    let before = ws.tree_hash();
    let src_mtime = std::fs::metadata(&src).unwrap().modified().unwrap();
    reversible(&ws.run(1, &["cp", "-r", "src/.", "copy"]));
    ws.run(1, &["tar", "-cf", "x.tar", "src"]);
    let aside = ws.root.join("aside");
    std::fs::rename(src.join("line\nbreak.txt"), &aside).unwrap();
    let removed = ws.tree_hash();
    ws.run(2, &["tar", "-xf", "x.tar"]);
    assert_ne!(ws.tree_hash(), removed);
    ws.undo(Selection::Job(2), false).unwrap();
    assert_eq!(ws.tree_hash(), removed);
    std::fs::rename(&aside, src.join("line\nbreak.txt")).unwrap();
    // The test itself moved the file back: put back the time that changed.
    std::fs::File::open(&src)
        .unwrap()
        .set_modified(src_mtime)
        .unwrap();
    ws.undo(Selection::Job(1), false).unwrap();
    assert_eq!(ws.tree_hash(), before);
}

/// Class `full-disk`: when the pre-images cannot be written, `begin` fails
/// and the action must not run. The state dir is a 64 KiB tmpfs (needs root
/// to mount; CI runs as root).
#[test]
fn a_full_disk_during_journaling_stops_the_action() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let state = root.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&state)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!(
            "SKIPPED a_full_disk_during_journaling_stops_the_action: cannot mount a tmpfs here (not root?)"
        );
        return;
    }
    let guard = Unmount(state.clone());
    let ws = Ws::at(Some(dir), root, UndoSettings::default());
    // Fill the tmpfs, leaving the database room to open.
    let filler = state.join("filler");
    let mut size = 0usize;
    let chunk = vec![0u8; 4096];
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        while f.write_all(&chunk).is_ok() {
            size += chunk.len();
        }
    }
    assert!(size > 0);
    ws.write("a.txt", &"z".repeat(64 * 1024));
    let plan = ws.plan(&["sed", "-i", "s/z/y/", "a.txt"]);
    let ctx = EntryContext {
        job_id: Some(1),
        ..EntryContext::default()
    };
    let result = ws.journal.begin(&ctx, &plan, &ws.audit);
    assert!(result.is_err(), "journaling onto a full disk must fail");
    // (The engine does not run the action on this error; see leash-core.)
    assert!(
        ws.undo(Selection::Job(1), false).is_err(),
        "no entry was committed"
    );
    drop(guard);
    drop(ws);
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
