//! Everything the child does between `fork` and `exec`, prepared in the parent.
//!
//! Why `std::process::Command` + `pre_exec` and not a hand-rolled fork/exec:
//! std already does the delicate parts right (argv/envp built before fork,
//! stdio dup2, `setpgid`, `chdir`, uid/gid switch, signal mask reset, and a
//! CLOEXEC pipe that reports an errno from the child when exec or a `pre_exec`
//! step fails). What is left for `pre_exec` is a short list of raw system calls
//! on data prepared here: rlimits, `PR_SET_NO_NEW_PRIVS`,
//! `landlock_restrict_self(fd)` and `seccomp(SET_MODE_FILTER)` on programs
//! compiled before the fork. Nothing in [`ChildPlan::apply`] allocates, locks or
//! unwinds, so it is async-signal-safe even when leash has other threads.
//!
//! std's pipe only carries the errno; which layer failed travels through a
//! second CLOEXEC pipe of our own ([`FailurePipe`]): one byte for the layer
//! plus four for the errno, written just before the closure returns the error.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::sys::resource::{Resource, rlim_t, setrlimit};

use crate::layer::Layer;

/// `landlock_restrict_self`: the same number on every architecture leash runs on.
const SYS_LANDLOCK_RESTRICT_SELF: libc::c_long = 446;

/// A seccomp program in the kernel's `sock_filter` layout.
pub(crate) type SeccompProgram = Vec<seccompiler::sock_filter>;

/// One rlimit to set: resource, soft, hard.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RlimitSetting {
    pub(crate) resource: Resource,
    pub(crate) soft: rlim_t,
    pub(crate) hard: rlim_t,
}

/// The write end stays in the child (and, until the `Command` is dropped, in the
/// parent); the read end is read once the spawn has finished.
#[derive(Debug)]
pub(crate) struct FailurePipe {
    pub(crate) read: OwnedFd,
    pub(crate) write: OwnedFd,
}

impl FailurePipe {
    pub(crate) fn new() -> io::Result<FailurePipe> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 fills the two-element array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both fds were just created and are owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(FailurePipe { read, write })
    }
}

/// Reads what a failed child reported: the layer and its errno. Call only after
/// every write end is closed (the `Command` holding the plan dropped).
pub(crate) fn read_failure(read: OwnedFd) -> Option<(Layer, io::Error)> {
    let mut file = std::fs::File::from(read);
    let mut buf = [0u8; 5];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if filled != buf.len() {
        return None;
    }
    let layer = *Layer::ALL.get(usize::from(buf[0]))?;
    let errno = i32::from_ne_bytes([buf[1], buf[2], buf[3], buf[4]]);
    Some((layer, io::Error::from_raw_os_error(errno)))
}

/// The child-side steps of one run.
#[derive(Debug)]
pub(crate) struct ChildPlan {
    pub(crate) rlimits: Vec<RlimitSetting>,
    pub(crate) no_new_privs: bool,
    pub(crate) landlock: Option<OwnedFd>,
    pub(crate) seccomp: Vec<SeccompProgram>,
    pub(crate) failure_write: OwnedFd,
}

impl ChildPlan {
    /// Applies every step in order. Runs in the forked child: raw system calls
    /// only, no allocation.
    pub(crate) fn apply(&self) -> io::Result<()> {
        for limit in &self.rlimits {
            if let Err(errno) = setrlimit(limit.resource, limit.soft, limit.hard) {
                return self.fail(Layer::Rlimits, errno as i32);
            }
        }
        if self.no_new_privs {
            // SAFETY: prctl with integer arguments only.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return self.fail(Layer::NoNewPrivs, last_errno());
            }
        }
        if let Some(ruleset) = &self.landlock {
            // SAFETY: the fd is a Landlock ruleset created in the parent; flags 0.
            let rc = unsafe { libc::syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset.as_raw_fd(), 0) };
            if rc != 0 {
                return self.fail(Layer::Landlock, last_errno());
            }
        }
        for program in &self.seccomp {
            let Ok(len) = u16::try_from(program.len()) else {
                return self.fail(Layer::Seccomp, libc::E2BIG);
            };
            let fprog = libc::sock_fprog {
                len,
                // seccompiler's sock_filter is #[repr(C)] with the kernel layout.
                filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut(),
            };
            // SAFETY: the kernel copies the program; `fprog` points into a Vec
            // that outlives the call.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0,
                    &fprog as *const libc::sock_fprog,
                )
            };
            if rc != 0 {
                return self.fail(Layer::Seccomp, last_errno());
            }
        }
        Ok(())
    }

    /// Reports `layer` and `errno` through the failure pipe, then returns the
    /// error std hands back from `spawn`.
    fn fail(&self, layer: Layer, errno: i32) -> io::Result<()> {
        let e = errno.to_ne_bytes();
        let msg = [layer as u8, e[0], e[1], e[2], e[3]];
        // SAFETY: writing a stack buffer to a pipe fd we own; a short or failed
        // write only loses the layer name, not the error itself.
        let _ = unsafe {
            libc::write(
                self.failure_write.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
            )
        };
        Err(io::Error::from_raw_os_error(errno))
    }
}

fn last_errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The seccomp programs for a run, or why there are none on this architecture.
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
))]
pub(crate) fn seccomp_programs(network: bool) -> Result<Vec<SeccompProgram>, String> {
    crate::seccomp_filter::compile_filters(network)
}

/// The seccomp programs for a run, or why there are none on this architecture.
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
)))]
pub(crate) fn seccomp_programs(_network: bool) -> Result<Vec<SeccompProgram>, String> {
    Err(format!(
        "seccompiler has no support for {} (x86_64, aarch64 and riscv64 only)",
        std::env::consts::ARCH
    ))
}

/// How many system calls the deny list covers (for `leash doctor`).
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
))]
pub(crate) fn seccomp_denied_count() -> usize {
    crate::seccomp_filter::denied_count()
}

/// How many system calls the deny list covers (for `leash doctor`).
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
)))]
pub(crate) fn seccomp_denied_count() -> usize {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_bytes_are_positions_in_layer_all() {
        for (index, layer) in Layer::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(layer as u8), index, "{layer}");
        }
    }

    #[test]
    fn failure_report_names_layer_and_errno() {
        let pipe = FailurePipe::new().unwrap();
        let plan = ChildPlan {
            rlimits: Vec::new(),
            no_new_privs: false,
            landlock: None,
            seccomp: Vec::new(),
            failure_write: pipe.write,
        };
        let err = plan.fail(Layer::Landlock, libc::EPERM).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        drop(plan);
        let (layer, errno) = read_failure(pipe.read).unwrap();
        assert_eq!(layer, Layer::Landlock);
        assert_eq!(errno.raw_os_error(), Some(libc::EPERM));
    }

    #[test]
    fn no_report_when_nothing_failed() {
        let pipe = FailurePipe::new().unwrap();
        drop(pipe.write);
        assert!(read_failure(pipe.read).is_none());
    }
}
