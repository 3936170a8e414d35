//! Putting a recorded state back. Parents come before children (the changes
//! are sorted), so a `hooks/` replaced by a symlink is a directory again before
//! its files are restored into it. Nothing here follows a symlink: the thing
//! found at a path is removed with `remove_file`/`remove_dir_all` (neither
//! follows links), and files are created with `O_EXCL | O_NOFOLLOW`.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::snapshot::{Change, Entry};

/// Restores `change.before` at `change.path`.
pub(super) fn revert(change: &Change) -> std::io::Result<()> {
    let path = &change.path;
    remove_whatever_is_at(path)?;
    match &change.before {
        Entry::Absent => Ok(()),
        Entry::File { key, content } => {
            let Some(content) = content else {
                return Err(std::io::Error::other(
                    "too large to have been saved; removed instead",
                ));
            };
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(key.mode & 0o7777)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)?;
            file.write_all(content)?;
            file.set_permissions(std::fs::Permissions::from_mode(key.mode & 0o7777))?;
            chown_if_root(&file, key.uid, key.gid);
            file.sync_all()
        }
        Entry::Dir { key } => {
            std::fs::DirBuilder::new()
                .mode(key.mode & 0o7777)
                .create(path)?;
            if let Ok(dir) = std::fs::File::open(path) {
                chown_if_root(&dir, key.uid, key.gid);
            }
            Ok(())
        }
        Entry::Symlink { target, .. } => std::os::unix::fs::symlink(target, path),
        Entry::Other { .. } => Ok(()), // never restore a device or FIFO
    }
}

fn remove_whatever_is_at(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Gives a restored file back to its owner when leash runs as root (a
/// `run_as` child's workspace). Failure leaves it owned by leash's user.
fn chown_if_root(file: &std::fs::File, uid: u32, gid: u32) {
    if nix::unistd::geteuid().is_root() {
        let _ = std::os::unix::fs::fchown(file, Some(uid), Some(gid));
    }
}
