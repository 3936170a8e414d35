//! Everything the child does between `fork` and `exec`, prepared in the parent.
//!
//! Why `std::process::Command` + `pre_exec` and not a hand-rolled fork/exec:
//! std already does the delicate parts right (argv/envp built before fork,
//! stdio dup2, `setpgid`, `chdir`, uid/gid switch, signal mask reset, and a
//! CLOEXEC pipe that reports an errno from the child when exec or a `pre_exec`
//! step fails). What is left for `pre_exec` is a short list of raw system calls
//! on data prepared here, in this order:
//! 0. the command's cgroup (when the cgroup layer is active): `0` written to
//!    its `cgroup.procs`, opened by the parent, moves the child in while it
//!    is still root and before anything else runs;
//! 1. every fd ≥ 3 marked close-on-exec (`close_range(3, ~0, CLOEXEC)`, or
//!    `fcntl` up to leash's own RLIMIT_NOFILE where that call is missing), so
//!    nothing leash inherited or opened reaches the program, while std's and
//!    our error pipes keep working until the exec;
//! 2. rlimits;
//! 3. capabilities: the bounding set emptied (while CAP_SETPCAP is still held),
//!    the ambient set cleared;
//! 4. `run_as`: supplementary groups cleared, then `setresgid`, `setresuid`
//!    (done here rather than by std so that step 3 can run first);
//! 5. effective, permitted and inheritable sets emptied with `capset` (a uid-0
//!    child without `run_as` keeps uid 0 but holds no capability);
//! 6. `PR_SET_NO_NEW_PRIVS`, `landlock_restrict_self` (the secret mask, then
//!    the run's ruleset) and `seccomp(SET_MODE_FILTER)` on programs compiled
//!    before the fork.
//!
//! Nothing in [`ChildPlan::apply`] allocates, locks or unwinds, so it is
//! async-signal-safe even when leash has other threads.
//!
//! std's pipe only carries the errno; which layer failed travels through a
//! second CLOEXEC pipe of our own ([`FailurePipe`]): one byte for the layer
//! plus four for the errno, written just before the closure returns the error.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use nix::sys::resource::{Resource, rlim_t, setrlimit};

use crate::layer::Layer;
use crate::spec::RunAs;

/// `landlock_restrict_self`: the same number on every architecture leash runs on.
const SYS_LANDLOCK_RESTRICT_SELF: libc::c_long = 446;

/// `close_range`: the same number on every architecture leash runs on (5.9+).
const SYS_CLOSE_RANGE: libc::c_long = 436;

/// `CLOSE_RANGE_CLOEXEC` (5.11+): mark instead of close.
const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// The kernel's `cap_user_header_t`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// The kernel's `cap_user_data_t` element.
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// What the child must do about capabilities, decided in the parent from
/// `/proc/self/status` (so an unprivileged leash, e.g. on Android, makes no
/// capability call at all: there is nothing to drop and Android's app filter
/// need not be tested).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CapabilityPlan {
    /// Empty the bounding set (leash holds CAP_SETPCAP).
    pub(crate) drop_bounding: bool,
    /// Clear the ambient set (leash has ambient capabilities).
    pub(crate) clear_ambient: bool,
    /// Empty the effective, permitted and inheritable sets (leash has some).
    pub(crate) clear_sets: bool,
}

impl CapabilityPlan {
    /// The plan for this process.
    pub(crate) fn for_current_process() -> CapabilityPlan {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let mask = |field: &str| -> Option<u64> {
            let value = status.lines().find_map(|l| l.strip_prefix(field))?;
            u64::from_str_radix(value.trim(), 16).ok()
        };
        // Unknown (no /proc): assume the worst and try every step.
        let eff = mask("CapEff:").unwrap_or(u64::MAX);
        let prm = mask("CapPrm:").unwrap_or(u64::MAX);
        let inh = mask("CapInh:").unwrap_or(u64::MAX);
        let amb = mask("CapAmb:").unwrap_or(u64::MAX);
        let cap_setpcap = 1u64 << 8;
        CapabilityPlan {
            drop_bounding: eff & cap_setpcap != 0,
            clear_ambient: amb != 0,
            clear_sets: eff | prm | inh != 0,
        }
    }
}

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
    /// Fds up to this bound are marked CLOEXEC when `close_range` is missing
    /// (leash's RLIMIT_NOFILE soft limit: leash cannot hold an fd above it).
    pub(crate) fd_bound: libc::c_int,
    pub(crate) rlimits: Vec<RlimitSetting>,
    pub(crate) capabilities: CapabilityPlan,
    pub(crate) run_as: Option<RunAs>,
    pub(crate) no_new_privs: bool,
    /// The secret mask (cached by the executor), applied before `landlock`.
    pub(crate) landlock_mask: Option<Arc<OwnedFd>>,
    pub(crate) landlock: Option<OwnedFd>,
    pub(crate) seccomp: Vec<SeccompProgram>,
    /// The command cgroup's `cgroup.procs`, opened by the parent.
    pub(crate) cgroup_procs: Option<OwnedFd>,
    pub(crate) failure_write: OwnedFd,
}

impl ChildPlan {
    /// Applies every step in order. Runs in the forked child: raw system calls
    /// only, no allocation.
    pub(crate) fn apply(&self) -> io::Result<()> {
        if let Some(procs) = &self.cgroup_procs {
            // SAFETY: writing a one-byte static buffer to an fd we own.
            let n = unsafe { libc::write(procs.as_raw_fd(), b"0".as_ptr().cast(), 1) };
            if n != 1 {
                return self.fail(Layer::Cgroup, last_errno());
            }
        }
        if let Err(errno) = self.close_inherited_fds() {
            return self.fail(Layer::Exec, errno);
        }
        for limit in &self.rlimits {
            if let Err(errno) = setrlimit(limit.resource, limit.soft, limit.hard) {
                return self.fail(Layer::Rlimits, errno as i32);
            }
        }
        if let Err(errno) = self.drop_capabilities_and_switch_user() {
            return self.fail(Layer::Exec, errno);
        }
        if self.no_new_privs {
            // SAFETY: prctl with integer arguments only.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return self.fail(Layer::NoNewPrivs, last_errno());
            }
        }
        if let Some(mask) = &self.landlock_mask {
            // SAFETY: the fd is a Landlock ruleset created in the parent; flags 0.
            let rc = unsafe { libc::syscall(SYS_LANDLOCK_RESTRICT_SELF, mask.as_raw_fd(), 0) };
            if rc != 0 {
                return self.fail(Layer::Landlock, last_errno());
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

    /// Marks every fd ≥ 3 close-on-exec (step 1).
    fn close_inherited_fds(&self) -> Result<(), i32> {
        // Android's app seccomp filter may answer an unknown system call with
        // SIGSYS (older ones do not know close_range): use the fcntl loop there.
        if cfg!(target_os = "android") {
            return self.mark_cloexec_one_by_one();
        }
        // SAFETY: close_range with integer arguments only.
        let rc = unsafe {
            libc::syscall(
                SYS_CLOSE_RANGE,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let errno = last_errno();
        if errno != libc::ENOSYS && errno != libc::EINVAL && errno != libc::EPERM {
            return Err(errno);
        }
        self.mark_cloexec_one_by_one()
    }

    /// Kernels before 5.11 (or a filter that refuses `close_range`): one
    /// fcntl per possible fd. EBADF just means the slot is empty.
    fn mark_cloexec_one_by_one(&self) -> Result<(), i32> {
        for fd in 3..self.fd_bound {
            // SAFETY: fcntl with integer arguments only.
            if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
                let errno = last_errno();
                if errno != libc::EBADF {
                    return Err(errno);
                }
            }
        }
        Ok(())
    }

    /// Steps 3–5: bounding and ambient sets, the uid/gid switch, then the
    /// remaining capability sets.
    fn drop_capabilities_and_switch_user(&self) -> Result<(), i32> {
        if self.capabilities.drop_bounding {
            // Capabilities are numbered from 0 up to the kernel's last one;
            // EINVAL marks the end.
            for cap in 0..64 {
                // SAFETY: prctl with integer arguments only.
                if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) } != 0 {
                    let errno = last_errno();
                    if errno == libc::EINVAL {
                        break;
                    }
                    return Err(errno);
                }
            }
        }
        if self.capabilities.clear_ambient {
            // SAFETY: prctl with integer arguments only.
            let rc = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_CLEAR_ALL,
                    0,
                    0,
                    0,
                )
            };
            if rc != 0 && last_errno() != libc::EINVAL {
                return Err(last_errno());
            }
        }
        if let Some(owner) = self.run_as {
            // SAFETY: plain system calls with integer arguments (a null list).
            unsafe {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setresgid(owner.gid, owner.gid, owner.gid) != 0
                    || libc::setresuid(owner.uid, owner.uid, owner.uid) != 0
                {
                    return Err(last_errno());
                }
            }
        }
        if self.capabilities.clear_sets {
            let mut header = CapHeader {
                version: CAPABILITY_VERSION_3,
                pid: 0,
            };
            let data = [CapData {
                effective: 0,
                permitted: 0,
                inheritable: 0,
            }; 2];
            // SAFETY: the header and the two-element data array live on the
            // stack for the duration of the call, in the kernel's layout.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_capset,
                    &mut header as *mut CapHeader,
                    data.as_ptr(),
                )
            };
            if rc != 0 {
                return Err(last_errno());
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
            fd_bound: 0,
            capabilities: CapabilityPlan::default(),
            run_as: None,
            rlimits: Vec::new(),
            no_new_privs: false,
            landlock_mask: None,
            landlock: None,
            seccomp: Vec::new(),
            cgroup_procs: None,
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
