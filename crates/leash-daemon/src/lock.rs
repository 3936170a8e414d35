//! One daemon per state directory: an exclusive `flock` on the lock file,
//! held for the daemon's life, with its pid written inside for people.
//!
//! `flock` rather than "does the pid file exist": the kernel drops the lock
//! when the process dies, `kill -9` included, so a stale file never blocks a
//! restart, and two daemons can never both hold it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{DaemonError, io_error};

/// The held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct DaemonLock {
    _file: File,
    pub path: PathBuf,
}

/// Takes the lock at `path` (creating it, mode 0600) and writes this pid into
/// it. Another live daemon → [`DaemonError::AlreadyRunning`] naming its pid.
pub fn acquire(path: &Path) -> Result<DaemonLock, DaemonError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io_error("open lock file", path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            return Err(DaemonError::AlreadyRunning {
                lock: path.to_path_buf(),
                pid: pid.trim().to_owned(),
            });
        }
        Err(TryLockError::Error(source)) => {
            return Err(DaemonError::Io {
                action: "lock",
                path: path.to_path_buf(),
                source,
            });
        }
    }
    file.set_len(0)
        .map_err(io_error("truncate lock file", path))?;
    file.seek(SeekFrom::Start(0))
        .map_err(io_error("write lock file", path))?;
    writeln!(file, "{}", std::process::id()).map_err(io_error("write lock file", path))?;
    file.sync_all().map_err(io_error("sync lock file", path))?;
    Ok(DaemonLock {
        _file: file,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_the_same_file_is_refused_naming_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.lock");
        let held = acquire(&path).unwrap();
        match acquire(&path) {
            Err(DaemonError::AlreadyRunning { pid, .. }) => {
                assert_eq!(pid, std::process::id().to_string());
            }
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        drop(held);
        assert!(acquire(&path).is_ok(), "a released lock can be taken again");
    }
}
