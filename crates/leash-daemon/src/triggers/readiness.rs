//! When a trigger file is complete. A writer that closes the file (inotify
//! close-write) or renames it into place (moved-to) says so; otherwise a file
//! is ready when its identity — device, inode, size and modification time —
//! has not changed for `monitoring.settle_ms` (poll mode, slow writers, files
//! found at start-up). Only regular files are ever ready: symlinks, FIFOs,
//! sockets and directories are dropped (a symlink could point out of the
//! watched directory, a FIFO would block the reader).

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

    /// The identity of the regular file at `path` (not following a symlink);
    /// `None` when it is gone or not a regular file.
    pub(crate) fn of_regular_file(path: &Path) -> Option<FileIdentity> {
        let meta = path.symlink_metadata().ok()?;
        meta.file_type().is_file().then(|| FileIdentity::of(&meta))
    }
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
