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
use std::time::{Duration, Instant};

use crate::error::{DaemonError, io_error};

/// How long a lock whose recorded daemon is dead may stay held before the
/// start gives up. A daemon killed with SIGKILL can leave it held for a
/// moment by a child it had just forked: the lock's descriptor is
/// close-on-exec, so such a child holds it until its `exec` (joining its
/// cgroup and applying the sandbox first can take tens of milliseconds).
const DEAD_HOLDER_GRACE: Duration = Duration::from_secs(5);

/// The held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct DaemonLock {
    _file: File,
    /// The lock file (named in the "already running" error).
    pub path: PathBuf,
}

/// Takes the lock at `path` (creating it, mode 0600) and writes this pid into
/// it. Another live daemon → [`DaemonError::AlreadyRunning`] naming its pid.
/// When the daemon named in the file is dead but the lock is still held (a
/// child it forked has not reached `exec` yet), waits up to
/// five seconds for the lock to be released.
pub fn acquire(path: &Path) -> Result<DaemonLock, DaemonError> {
    let deadline = Instant::now() + DEAD_HOLDER_GRACE;
    loop {
        match try_acquire(path) {
            Err(DaemonError::AlreadyRunning { pid, .. })
                if !pid_is_alive(&pid) && Instant::now() < deadline =>
            {
                tracing::debug!(%pid, "lock held after its daemon died; waiting for it to be released");
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// Whether `pid` (as written in the lock file) names a live process. Anything
/// that is not a plain pid counts as alive: the start then refuses, as it
/// would for a live daemon.
fn pid_is_alive(pid: &str) -> bool {
    let Ok(raw) = pid.parse::<i32>() else {
        return true;
    };
    if raw <= 0 {
        return true;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Err(nix::errno::Errno::ESRCH) => false,
        Ok(()) | Err(_) => true,
    }
}

fn try_acquire(path: &Path) -> Result<DaemonLock, DaemonError> {
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

    /// The class: a daemon killed with SIGKILL whose lock is still held for a
    /// moment by something else (a child it forked, before its exec).
    #[test]
    fn lock_held_after_its_daemon_died_is_waited_for_not_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.lock");
        // A pid that is certainly dead: a child that has exited and been reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let mut holder = File::create(&path).unwrap();
        holder.lock().unwrap();
        writeln!(holder, "{dead}").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(holder);
        });
        let started = Instant::now();
        let lock = acquire(&path);
        release.join().unwrap();
        assert!(lock.is_ok(), "{lock:?}");
        assert!(started.elapsed() >= Duration::from_millis(250));
    }

    #[test]
    fn lock_held_by_a_live_daemon_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.lock");
        let _held = acquire(&path).unwrap();
        let started = Instant::now();
        assert!(acquire(&path).is_err());
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
