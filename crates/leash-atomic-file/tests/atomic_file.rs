//! The atomic write against the things that go wrong for real: names planted
//! at the temp name and at the target, a fill step that fails, concurrent
//! writers, and the mode of the new file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use leash_atomic_file::{Options, next_temp_names, write, write_with};

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_symlink_planted_at_the_temp_name_is_never_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "untouched").unwrap();
    let target = dir.path().join("rules.yaml");
    // Every name the next writes could use points outside.
    for name in next_temp_names(&target, 64) {
        symlink(&victim, name).unwrap();
    }
    write(&target, b"new rules").unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new rules");
    assert!(
        !std::fs::symlink_metadata(&target)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the target is a regular file of its own"
    );
    assert_eq!(entries(outside.path()), vec!["victim".to_owned()]);
}

#[test]
fn a_symlink_at_the_target_is_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "untouched").unwrap();
    let target = dir.path().join("token");
    symlink(&victim, &target).unwrap();
    write(&target, b"secret").unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    assert!(std::fs::symlink_metadata(&target).unwrap().is_file());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "secret");
}

#[test]
fn a_failing_fill_leaves_the_old_file_and_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("state.json");
    std::fs::write(&target, "old").unwrap();
    let err = write_with(&target, Options::default(), |file| {
        use std::io::Write;
        file.write_all(b"half")?;
        Err(std::io::Error::other("disk full"))
    })
    .unwrap_err();
    assert_eq!(err.step, "write");
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
    assert_eq!(entries(dir.path()), vec!["state.json".to_owned()]);
}

#[test]
fn a_missing_directory_fails_with_the_path_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no/such/dir/file");
    let err = write(&target, b"x").unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");
}

#[test]
fn the_default_mode_is_private_and_a_chosen_mode_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("private");
    write(&private, b"x").unwrap();
    let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let shared = dir.path().join("shared");
    write_with(&shared, Options::default().mode(0o644), |file| {
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
    })
    .unwrap();
    let mode = std::fs::metadata(&shared).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
}

#[test]
fn a_fill_that_syncs_itself_still_replaces_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out");
    let mut synced = false;
    write_with(&target, Options::default().caller_syncs(), |file| {
        use std::io::Write;
        file.write_all(b"data")?;
        file.sync_data()?;
        synced = true;
        Ok(())
    })
    .unwrap();
    assert!(synced);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "data");
}

#[test]
fn concurrent_writers_each_leave_a_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("shared.txt");
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let target = target.clone();
            std::thread::spawn(move || {
                let text = format!("writer {i} ").repeat(1000);
                write(&target, text.as_bytes()).unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let text = std::fs::read_to_string(&target).unwrap();
    let first = text.split(' ').take(2).collect::<Vec<_>>().join(" ");
    assert_eq!(
        text,
        format!("{first} ").repeat(1000),
        "one writer's whole file"
    );
    assert_eq!(entries(dir.path()), vec!["shared.txt".to_owned()]);
}

#[test]
fn a_stable_temp_name_left_by_a_killed_writer_is_removed_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("restored.txt");
    // What a writer killed between create and rename leaves behind.
    std::fs::write(dir.path().join(".restored.txt.leash-undo"), "half").unwrap();
    let options = Options::default().stable_temp_name(".leash-undo");
    write_with(&target, options, |file| {
        use std::io::Write;
        file.write_all(b"whole")
    })
    .unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "whole");
    assert_eq!(entries(dir.path()), vec!["restored.txt".to_owned()]);
}
