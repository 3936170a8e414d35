//! leash's own `<dir>/.leash/<stage>/` directories, made and checked before
//! any file is claimed into them, finished into them or recovered from them.
//!
//! Someone who can write the watched directory could plant `.leash` (or
//! `.leash/processing`, `.leash/done`, …) as a symlink to a directory of their
//! choice. Followed, claims would move trigger files there and finishing would
//! write files with names they chose where they chose — as root, a cron job.
//! So every level must be a real directory (checked with `lstat`, never
//! followed) owned by the daemon's user; leash creates the missing levels
//! itself, private (mode 0700). A tree that fails the check is refused with an
//! error naming it, and that directory's files are left alone.

use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use crate::triggers::file_rules::LEASH_DIR;

/// Why a `.leash` tree cannot be used.
#[derive(Debug)]
pub(crate) struct UnsafeLeashTree {
    pub(crate) path: PathBuf,
    pub(crate) problem: String,
}

impl std::fmt::Display for UnsafeLeashTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} {}; leash will not claim, finish or recover files there until it is removed",
            self.path, self.problem
        )
    }
}

/// Checks one level: a real directory owned by us. `Ok(false)` when missing.
fn check_level(path: &Path) -> Result<bool, UnsafeLeashTree> {
    let unsafe_tree = |problem: String| UnsafeLeashTree {
        path: path.to_path_buf(),
        problem,
    };
    match path.symlink_metadata() {
        Ok(meta) if meta.file_type().is_symlink() => Err(unsafe_tree(
            "is a symlink (it could lead out of the watched directory)".to_owned(),
        )),
        Ok(meta) if !meta.is_dir() => Err(unsafe_tree("is not a directory".to_owned())),
        Ok(meta) if meta.uid() != nix::unistd::geteuid().as_raw() => Err(unsafe_tree(format!(
            "belongs to uid {}, not to the daemon's user",
            meta.uid()
        ))),
        Ok(_) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(unsafe_tree(format!("cannot be inspected: {err}"))),
    }
}

/// `<watch_dir>/.leash/<stage>`, every level checked (see the module
/// documentation); with `create`, missing levels are made (mode 0700).
/// Returns `Ok(None)` when a level is missing and `create` is false.
pub(crate) fn leash_stage_dir(
    watch_dir: &Path,
    stage: &str,
    create: bool,
) -> Result<Option<PathBuf>, UnsafeLeashTree> {
    let leash = watch_dir.join(LEASH_DIR);
    let stage_dir = leash.join(stage);
    for level in [&leash, &stage_dir] {
        if check_level(level)? {
            continue;
        }
        if !create {
            return Ok(None);
        }
        match std::fs::DirBuilder::new().mode(0o700).create(level) {
            Ok(()) => {}
            // Made by someone else in between: check what it is.
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => {
                return Err(UnsafeLeashTree {
                    path: level.clone(),
                    problem: format!("cannot be created: {err}"),
                });
            }
        }
        if !check_level(level)? {
            return Err(UnsafeLeashTree {
                path: level.clone(),
                problem: "vanished while it was being created".to_owned(),
            });
        }
    }
    Ok(Some(stage_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_levels_are_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let made = leash_stage_dir(dir.path(), "processing", true)
            .unwrap()
            .unwrap();
        assert_eq!(made, dir.path().join(".leash/processing"));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&made).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(
            leash_stage_dir(dir.path(), "done", false)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_symlinked_level_is_refused_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join(".leash")).unwrap();
        let err = leash_stage_dir(dir.path(), "done", true).unwrap_err();
        assert_eq!(err.path, dir.path().join(".leash"));
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(
            std::fs::read_dir(elsewhere.path())
                .unwrap()
                .next()
                .is_none()
        );
    }
}
