//! Round trips: after `leash undo` the workspace is byte for byte (names,
//! modes, contents, file times) what it was before the job.

use std::process::Command;

use rstest::rstest;

use super::*;

/// A workspace with files, a subdirectory, a tree to copy, and an archive
/// whose members overwrite one file and add others.
fn seeded() -> Ws {
    let ws = Ws::new();
    ws.write("a.txt", "hello\nworld\nhello again\n");
    ws.write("b.txt", "zebra\napple\nmango\n");
    ws.write("out.txt", "old output\n");
    ws.write("src/one.txt", "1\n");
    ws.write("src/deep/two.txt", "2\n");
    std::fs::create_dir_all(ws.p("sub")).unwrap();
    std::fs::set_permissions(ws.p("b.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    // The archive is built outside the workspace from a staging tree.
    let stage = ws.root.join("stage");
    std::fs::create_dir_all(stage.join("fromtar")).unwrap();
    std::fs::write(stage.join("a.txt"), "from the archive\n").unwrap();
    std::fs::write(stage.join("fromtar/new.txt"), "new\n").unwrap();
    let status = Command::new("tar")
        .args(["-cf"])
        .arg(ws.p("a.tar"))
        .args(["-C"])
        .arg(&stage)
        .args(["a.txt", "fromtar"])
        .status()
        .unwrap();
    assert!(status.success());
    // File times in the past, so a rewrite or a `touch` shows.
    for f in [
        "a.txt",
        "b.txt",
        "out.txt",
        "a.tar",
        "src/one.txt",
        "src/deep/two.txt",
    ] {
        let file = std::fs::File::options().write(true).open(ws.p(f)).unwrap();
        file.set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000),
        )
        .unwrap();
    }
    // Directory times in the past too (after their entries were made), so a
    // directory undo recreates or refills shows in the tree hash.
    for d in ["src/deep", "src", "sub"] {
        std::fs::File::open(ws.p(d))
            .unwrap()
            .set_modified(
                std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_100_000_000),
            )
            .unwrap();
    }
    ws
}

/// Every journaled program and every file action (as the command the engine
/// runs for it: mkdir, move, copy, delete = mv into the trash).
#[rstest]
#[case::cp_overwrite(&["cp", "a.txt", "b.txt"])]
#[case::cp_new(&["cp", "a.txt", "c.txt"])]
#[case::cp_recursive(&["cp", "-r", "src", "copy"])]
#[case::cp_into_dir(&["cp", "a.txt", "b.txt", "sub"])]
#[case::mv_rename(&["mv", "a.txt", "renamed.txt"])]
#[case::mv_over(&["mv", "a.txt", "b.txt"])]
#[case::mv_into_dir(&["mv", "a.txt", "sub"])]
#[case::tee_truncate(&["tee", "a.txt"])]
#[case::tee_new(&["tee", "fresh.txt"])]
#[case::sed_in_place(&["sed", "-i", "s/hello/bye/", "a.txt"])]
#[case::touch_existing(&["touch", "a.txt"])]
#[case::touch_new(&["touch", "new.txt"])]
#[case::touch_mode_kept(&["touch", "b.txt"])]
#[case::tar_extract(&["tar", "-xf", "a.tar"])]
#[case::tar_extract_into(&["tar", "-xf", "a.tar", "-C", "sub"])]
#[case::sort_output(&["sort", "-o", "out.txt", "b.txt"])]
#[case::sort_in_place(&["sort", "-o", "b.txt", "b.txt"])]
#[case::mkdir_action(&["mkdir", "-p", "--", "made/deeper"])]
#[case::move_action(&["mv", "--", "src", "moved"])]
#[case::copy_action(&["cp", "--", "a.txt", "copied.txt"])]
fn undo_restores_the_workspace_exactly(#[case] argv: &[&str]) {
    let ws = seeded();
    let before = ws.tree_hash();
    let plan = ws.run(7, argv);
    reversible(&plan);
    assert_ne!(
        ws.tree_hash(),
        before,
        "{argv:?} changed nothing: the case tests nothing"
    );
    let report = ws.undo(Selection::Job(7), false).unwrap();
    assert_eq!(report.entries.len(), 1);
    assert_eq!(
        ws.tree_hash(),
        before,
        "{argv:?}: undo did not restore the workspace"
    );
    assert!(ws.audit.verify().unwrap().ok);
}

/// The delete action: `mv -- PATH .leash/trash/TAG/` (trash made first).
#[test]
fn a_delete_into_the_trash_is_undone() {
    let ws = seeded();
    let trash = ws.p(".leash/trash/job-7-step1-0");
    std::fs::create_dir_all(&trash).unwrap();
    let before = ws.tree_hash();
    let dest = format!("{}/", trash.display());
    reversible(&ws.run(7, &["mv", "--", "a.txt", &dest]));
    assert!(!ws.p("a.txt").exists());
    ws.undo(Selection::Job(7), false).unwrap();
    assert_eq!(ws.tree_hash(), before);
}

/// A job of several actions is undone newest first, back to the start.
#[test]
fn a_whole_job_is_undone_newest_first() {
    let ws = seeded();
    let before = ws.tree_hash();
    ws.run(9, &["cp", "a.txt", "c.txt"]);
    ws.run(9, &["sed", "-i", "s/hello/HI/", "c.txt"]);
    ws.run(9, &["mv", "c.txt", "sub"]);
    ws.run(9, &["touch", "b.txt"]);
    let report = ws.undo(Selection::Job(9), false).unwrap();
    assert_eq!(report.entries.len(), 4);
    assert!(report.entries.windows(2).all(|w| w[0].entry > w[1].entry));
    assert_eq!(ws.tree_hash(), before);
    // Undoing again finds nothing left to do.
    let again = ws.undo(Selection::Job(9), false).unwrap();
    assert!(
        again
            .entries
            .iter()
            .all(|e| e.status == leash_undo::EntryStatus::AlreadyUndone)
    );
}

/// `--dry-run` restores nothing and says what it would restore.
#[test]
fn a_dry_run_changes_nothing() {
    let ws = seeded();
    ws.run(3, &["sed", "-i", "s/hello/bye/", "a.txt"]);
    let after = ws.tree_hash();
    let report = leash_undo::undo(
        &ws.journal,
        &ws.audit,
        Selection::Last,
        &UndoOptions {
            dry_run: true,
            force: false,
            roots: vec![ws.ws.clone()],
        },
    )
    .unwrap();
    assert_eq!(
        report.entries[0].status,
        leash_undo::EntryStatus::WouldRestore
    );
    assert!(report.entries[0].changes[0].path.ends_with("a.txt"));
    assert_eq!(ws.tree_hash(), after);
}

/// Identical pre-images are kept once.
#[test]
fn pre_images_are_deduplicated() {
    let ws = seeded();
    ws.run(1, &["touch", "a.txt"]);
    ws.run(1, &["touch", "a.txt"]);
    let objects = ws.journal.objects().list().unwrap();
    assert_eq!(
        objects
            .iter()
            .filter(|(n, _)| !n.starts_with("links/"))
            .count(),
        1
    );
}

/// Commands whose effects leash cannot name are classed before they run.
#[test]
fn unknown_effects_are_classed_up_front() {
    let ws = seeded();
    // `cat` writes nothing: reversible, and nothing to journal.
    let cat = ws.plan(&["cat", "a.txt"]);
    reversible(&cat);
    assert!(!cat.journals());
    let make = ws.plan(&["make"]);
    assert_eq!(make.class, Reversibility::Irreversible);
}

/// Big files: kept by hard link when the program replaces the file, classed
/// irreversible when it rewrites in place; a journal that would overflow
/// `undo.max_mb` classes the action irreversible before it runs.
#[test]
fn size_limits_class_before_running() {
    let ws = Ws::with(UndoSettings {
        max_file_bytes: 1024,
        max_bytes: 64 * 1024,
        ..UndoSettings::default()
    });
    ws.write("big.txt", &"x".repeat(4096));
    ws.write("mid.txt", &"y".repeat(1000));
    let before = ws.tree_hash();
    let sed = ws.run(1, &["sed", "-i", "s/x/z/", "big.txt"]);
    reversible(&sed);
    ws.undo(Selection::Last, false).unwrap();
    assert_eq!(ws.tree_hash(), before);
    assert_eq!(
        ws.plan(&["tee", "big.txt"]).class,
        Reversibility::Irreversible
    );
    assert_eq!(
        ws.plan(&["tee", "big.txt", "mid.txt"]).class,
        Reversibility::PartlyReversible
    );
    let full = Ws::with(UndoSettings {
        max_bytes: 10,
        ..UndoSettings::default()
    });
    full.write("a.txt", "more than ten bytes");
    let plan = full.plan(&["tee", "a.txt"]);
    assert_eq!(plan.class, Reversibility::Irreversible);
    assert!(plan.reason.unwrap().contains("undo.max_mb"));
}

/// `--gc` prunes entries past `undo.keep_days` and the pre-images only they used.
#[test]
fn gc_prunes_old_entries_and_their_pre_images() {
    let ws = Ws::with(UndoSettings {
        keep_days: 0,
        ..UndoSettings::default()
    });
    ws.write("a.txt", "content");
    ws.run(1, &["tee", "a.txt"]);
    assert_eq!(ws.journal.objects().list().unwrap().len(), 1);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let report = ws.journal.gc(&ws.audit).unwrap();
    assert_eq!(report.entries_removed, 1);
    assert_eq!(report.objects_removed, 1);
    assert!(ws.journal.objects().list().unwrap().is_empty());
    assert!(ws.undo(Selection::Job(1), false).is_err());
}

/// Class `directory-mtime`: undo puts back the modification time of the
/// directory holding a target it removed (created by the action) or
/// recreated (moved away by it).
#[test]
fn the_directory_of_a_created_or_removed_target_gets_its_mtime_back() {
    use std::os::unix::fs::MetadataExt;
    let ws = Ws::new();
    ws.write("d/keep.txt", "k\n");
    ws.write("d/gone.txt", "g\n");
    let dir = std::fs::File::open(ws.p("d")).unwrap();
    dir.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000))
        .unwrap();
    let mtime = || {
        let m = std::fs::metadata(ws.p("d")).unwrap();
        (m.mtime(), m.mtime_nsec())
    };
    let before = mtime();
    ws.run(1, &["tee", "d/new.txt"]);
    ws.run(1, &["mv", "d/gone.txt", "moved.txt"]);
    assert_ne!(mtime(), before);
    ws.undo(Selection::Job(1), false).unwrap();
    assert_eq!(mtime(), before);
    assert_eq!(ws.read("d/gone.txt"), "g\n");
    assert!(!ws.p("d/new.txt").exists());
}

/// Class `directory-mtime`: the directories *inside* a recursive target
/// (moved away and recreated by undo, or refilled by it) get their
/// modification times back, not the time undo ran.
#[test]
fn directories_inside_a_recursive_target_get_their_mtimes_back() {
    use std::os::unix::fs::MetadataExt;
    let ws = seeded();
    let mtime = |p: &str| {
        let m = std::fs::metadata(ws.p(p)).unwrap();
        (m.mtime(), m.mtime_nsec())
    };
    let deep = mtime("src/deep");
    let before = ws.tree_hash();
    ws.run(3, &["mv", "src", "moved"]);
    ws.run(4, &["tar", "-xf", "a.tar", "-C", "sub"]);
    assert!(!ws.p("src").exists());
    ws.undo(Selection::Job(4), false).unwrap();
    ws.undo(Selection::Job(3), false).unwrap();
    assert_eq!(mtime("src/deep"), deep);
    assert_eq!(ws.tree_hash(), before);
}
