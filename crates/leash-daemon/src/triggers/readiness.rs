//! When a trigger file is complete. A writer that closes the file (inotify
//! close-write) or renames it into place (moved-to) says so; otherwise a file
//! is ready when its identity — device, inode, size and modification time —
//! has not changed for `monitoring.settle_ms` (poll mode, slow writers, files
//! found at start-up). Only regular files are ever ready: symlinks, FIFOs,
//! sockets and directories are dropped (a symlink could point out of the
//! watched directory, a FIFO would block the reader), and so are files with
//! more than one hard link (another name for a file that lives elsewhere —
//! as root, anywhere on the file system).
//!
//! A file still open for writing by anyone is never ready, however long it
//! has been quiet: a writer that pauses longer than `settle_ms` would
//! otherwise have half a file claimed. Checked with a read lease
//! (`F_SETLEASE`), which the kernel grants only when no one has the file
//! open for writing; where leases are unavailable (not the file's owner,
//! FUSE storage) readiness falls back to the settle time alone.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What identifies one version of a file: the de-duplication key is built
/// from it, and a change in it means "still being written".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FileIdentity {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) size: u64,
    pub(crate) mtime_ns: i128,
}

impl FileIdentity {
    pub(crate) fn of(meta: &Metadata) -> FileIdentity {
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }

    /// The identity of the regular, singly linked file at `path` (not
    /// following a symlink); `None` when it is gone or anything else.
    pub(crate) fn of_regular_file(path: &Path) -> Option<FileIdentity> {
        let meta = path.symlink_metadata().ok()?;
        is_plain_file(&meta).then(|| FileIdentity::of(&meta))
    }
}

/// A regular file with one name: what a trigger file must be.
pub(crate) fn is_plain_file(meta: &Metadata) -> bool {
    meta.file_type().is_file() && meta.nlink() == 1
}

/// Whether someone has the file at `path` open for writing (see the module
/// documentation). `false` when it cannot be told.
///
/// The one place in the daemon that calls libc directly: `nix` has no
/// `F_SETLEASE`, and a read lease is the only way to ask the kernel whether
/// anyone holds a file open for writing.
#[allow(unsafe_code)]
pub(crate) fn is_open_for_writing(path: &Path) -> bool {
    use std::os::fd::AsRawFd as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    else {
        return false;
    };
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is a descriptor this function owns (`file`) for the whole
    // call; F_SETLEASE takes an int argument and touches no memory.
    let taken = unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) };
    if taken == 0 {
        // SAFETY: as above; releases the lease just taken.
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        return false;
    }
    matches!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EAGAIN | libc::EBUSY)
    )
}

#[derive(Debug, Clone)]
struct Candidate {
    /// The identity seen last, and since when it has not changed.
    last: Option<(FileIdentity, Instant)>,
    /// The writer closed the file or renamed it into place.
    writer_done: bool,
}

/// Files seen in a watched directory that are not ready yet.
#[derive(Debug, Default)]
pub(crate) struct SettlingFiles {
    files: HashMap<PathBuf, Candidate>,
}

impl SettlingFiles {
    /// Something happened to `path` (created, written, found by a scan).
    pub(crate) fn touched(&mut self, path: PathBuf) {
        self.files
            .entry(path)
            .and_modify(|c| c.writer_done = false)
            .or_insert(Candidate {
                last: None,
                writer_done: false,
            });
    }

    /// The writer closed `path` after writing, or renamed it into place.
    pub(crate) fn writer_done(&mut self, path: PathBuf) {
        self.files
            .entry(path)
            .and_modify(|c| c.writer_done = true)
            .or_insert(Candidate {
                last: None,
                writer_done: true,
            });
    }

    /// `path` was removed or renamed away.
    pub(crate) fn forget(&mut self, path: &Path) {
        self.files.remove(path);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// When a file should be looked at again (`None`: nothing is settling, so
    /// the watcher can sleep until an event).
    pub(crate) fn next_check(&self, settle: Duration) -> Option<Instant> {
        self.files
            .values()
            .map(|c| match (c.writer_done, c.last) {
                (true, _) | (false, None) => Instant::now(),
                (false, Some((_, since))) => since + settle,
            })
            .min()
    }

    /// Looks at every settling file: returns those that are ready (and stops
    /// tracking them), drops those that are gone or not regular files.
    pub(crate) fn take_ready(&mut self, settle: Duration) -> Vec<(PathBuf, FileIdentity)> {
        let now = Instant::now();
        let mut ready = Vec::new();
        self.files.retain(|path, candidate| {
            let Some(identity) = FileIdentity::of_regular_file(path) else {
                return false;
            };
            let stable_since = match candidate.last {
                Some((seen, since)) if seen == identity => since,
                Some(_) | None => {
                    candidate.last = Some((identity, now));
                    now
                }
            };
            if candidate.writer_done || now.duration_since(stable_since) >= settle {
                if is_open_for_writing(path) {
                    // Still being written: wait for its close (or settle again).
                    candidate.writer_done = false;
                    candidate.last = Some((identity, now));
                    return true;
                }
                ready.push((path.clone(), identity));
                return false;
            }
            true
        });
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_ready_only_after_its_identity_settled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.task");
        std::fs::write(&path, "x").unwrap();
        let mut settling = SettlingFiles::default();
        settling.touched(path.clone());
        let settle = Duration::from_millis(80);
        assert!(
            settling.take_ready(settle).is_empty(),
            "first look is never ready"
        );
        std::thread::sleep(settle);
        let ready = settling.take_ready(settle);
        assert_eq!(ready.len(), 1);
        assert!(settling.is_empty());
    }

    #[test]
    fn close_write_makes_a_file_ready_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.task");
        std::fs::write(&path, "x").unwrap();
        let mut settling = SettlingFiles::default();
        settling.writer_done(path.clone());
        assert_eq!(settling.take_ready(Duration::from_secs(60)).len(), 1);
    }

    #[test]
    fn a_file_open_for_writing_is_not_ready_until_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.task");
        let writer = std::fs::File::create(&path).unwrap();
        let mut settling = SettlingFiles::default();
        settling.writer_done(path.clone());
        assert!(settling.take_ready(Duration::ZERO).is_empty());
        drop(writer);
        settling.writer_done(path.clone());
        assert_eq!(settling.take_ready(Duration::ZERO).len(), 1);
    }

    #[test]
    fn hard_linked_files_are_never_ready() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "x").unwrap();
        let link = dir.path().join("a.task");
        std::fs::hard_link(&outside, &link).unwrap();
        let mut settling = SettlingFiles::default();
        settling.writer_done(link);
        assert!(settling.take_ready(Duration::ZERO).is_empty());
        assert!(settling.is_empty());
    }

    #[test]
    fn symlinks_are_never_ready() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("a.task");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut settling = SettlingFiles::default();
        settling.writer_done(link);
        assert!(settling.take_ready(Duration::ZERO).is_empty());
        assert!(settling.is_empty());
    }
}
