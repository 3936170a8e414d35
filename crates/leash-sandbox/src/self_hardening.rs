//! What leash does to itself at start, before anything else: it must not be
//! readable by the commands it runs, and it must not hand on descriptors it was
//! started with.
//!
//! - `PR_SET_DUMPABLE(0)`: `/proc/<leash>/environ`, `mem`, `maps` and `fd/`
//!   become root-owned and ptrace-protected, so a child running as the same
//!   user cannot read an API key from leash's environment (the env scrub only
//!   keeps it out of the child's own environment). Core dumps are off too.
//! - every fd ≥ 3 closed: whatever started leash (a shell, a service manager,
//!   a test harness) may have leaked descriptors on secrets or on files
//!   outside the roots; leash uses none of them, and closing them here means
//!   no thread of leash can pass them on by accident (the child-side
//!   `close_range` is the second wall).

use std::io;

/// `close_range`: the same number on every architecture leash runs on (5.9+).
const SYS_CLOSE_RANGE: libc::c_long = 436;

/// What [`harden_process`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hardening {
    /// `PR_SET_DUMPABLE` is now 0.
    pub non_dumpable: bool,
    /// How many inherited descriptors ≥ 3 were closed.
    pub closed_fds: usize,
}

/// Makes this process non-dumpable and closes every fd ≥ 3. Call it first
/// thing in `main`, while leash has no descriptors of its own beyond stdio.
pub fn harden_process() -> io::Result<Hardening> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let closed_fds = close_fds_from_3()?;
    Ok(Hardening {
        non_dumpable: true,
        closed_fds,
    })
}

/// Whether this process is non-dumpable (for `leash doctor`).
pub fn is_non_dumpable() -> bool {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 }
}

fn open_fds_from_3() -> io::Result<Vec<libc::c_int>> {
    let mut fds = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let entry = entry?;
        if let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<libc::c_int>().ok())
        {
            fds.push(fd);
        }
    }
    // The directory's own fd is in the list and already closed.
    fds.retain(|fd| *fd >= 3);
    Ok(fds)
}

fn close_fds_from_3() -> io::Result<usize> {
    // Android's app seccomp filter may kill a process for a system call it
    // does not know (SIGSYS), and older ones do not know close_range: there
    // the /proc listing below is the only way.
    if !cfg!(target_os = "android") {
        let before = open_fds_from_3().map(|fds| fds.len()).unwrap_or(0);
        // SAFETY: close_range with integer arguments; no Rust object of this
        // process owns an fd ≥ 3 this early in `main`.
        let rc = unsafe { libc::syscall(SYS_CLOSE_RANGE, 3 as libc::c_uint, libc::c_uint::MAX, 0) };
        if rc == 0 {
            return Ok(before);
        }
    }
    // Before Linux 5.9: close what /proc lists (std's read_dir fd is gone by
    // the time the list is returned, so closing its number is a harmless EBADF).
    let fds = open_fds_from_3()?;
    for fd in &fds {
        // SAFETY: as above; EBADF for a slot already empty is harmless.
        unsafe { libc::close(*fd) };
    }
    Ok(fds.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_dumpable_after_hardening_in_a_forked_child() {
        // Fork so that the test process itself stays as it was.
        // SAFETY: the child only makes system calls and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let ok = harden_process().is_ok() && is_non_dumpable();
            // SAFETY: fcntl on a descriptor number; EBADF is what we expect.
            let fd3_closed = unsafe { libc::fcntl(3, libc::F_GETFD) } == -1;
            // SAFETY: _exit never returns.
            unsafe { libc::_exit(if ok && fd3_closed { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child we forked.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}
