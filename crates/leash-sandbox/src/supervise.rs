//! Watching a running child: read stdout and stderr concurrently (one `poll`
//! loop, non-blocking pipes, the child never blocks on a full pipe), enforce the
//! wall-clock timeout on the whole process group, and reap the child with its
//! rusage.
//!
//! The group: at the timeout it gets SIGTERM, after `kill_grace` SIGKILL. When
//! the group leader exits (on its own or after SIGTERM), whatever is left in the
//! group gets SIGKILL at once, sent while the leader is still an unreaped zombie
//! so the group id cannot have been reused. A run therefore never leaves
//! processes behind in its group; a process that left the group (`setsid`,
//! `setpgid`, possible only when the seccomp layer is missing) is out of reach
//! of the group kill, and its pipes are read for at most [`DRAIN_AFTER_EXIT`]
//! more — unless the run has a cgroup (the cgroup layer): every SIGKILL to the
//! group then also goes through `cgroup.kill`, which reaches it too.
//!
//! Exit is noticed through a pidfd (Linux 5.3+) in the same `poll`; on older
//! kernels through `waitid(WNOHANG|WNOWAIT)` with a back-off of 1 to 50 ms.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::capture::StreamCapture;
use crate::cgroup::CommandCgroup;
use crate::limits::Limits;
use crate::outcome::Captured;

/// `pidfd_open`: the same number on every architecture leash runs on.
const SYS_PIDFD_OPEN: libc::c_long = 434;
/// How long pipes are still read after the child was reaped.
pub(crate) const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(200);
/// Reads per stream per wake-up, so a flooding stream cannot starve the timers.
const READS_PER_WAKEUP: usize = 16;
const READ_CHUNK: usize = 64 * 1024;

/// What supervision found.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) wait_status: libc::c_int,
    pub(crate) rusage: libc::rusage,
    pub(crate) timed_out: bool,
    pub(crate) cancelled: bool,
    pub(crate) reaped_at: Instant,
    pub(crate) stdout: Captured,
    pub(crate) stderr: Captured,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Terminating { kill_at: Instant },
    Killed,
}

struct Stream {
    fd: Option<OwnedFd>,
    capture: StreamCapture,
}

/// SIGKILLs the group led by `pid` and, when there is one, the run's cgroup
/// (which also holds the descendants that left the group).
fn kill_all(pid: libc::pid_t, cgroup: &mut Option<&mut CommandCgroup>) {
    kill_group(pid, libc::SIGKILL);
    if let Some(cgroup) = cgroup {
        cgroup.kill();
    }
}

/// Sends `signal` to the process group led by `pid`; a vanished group is fine.
pub(crate) fn kill_group(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill with a negative pid signals that process group only.
    unsafe { libc::kill(-pid, signal) };
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on an fd we own, integer arguments only.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0
        || unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: raw system call with integer arguments.
    let fd = unsafe { libc::syscall(SYS_PIDFD_OPEN, pid, 0) };
    let fd = libc::c_int::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: a fresh fd nobody else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// True when `pid` has exited; the zombie is left in place.
fn leader_exited(pid: libc::pid_t) -> io::Result<bool> {
    // SAFETY: waitid fills the zeroed siginfo we own; WNOWAIT leaves the child.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            // SAFETY: waitid returned a filled (or still zeroed) siginfo.
            return Ok(unsafe { info.si_pid() } != 0);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Reaps `pid`, returning its wait status and rusage (its own plus that of every
/// descendant it waited for).
pub(crate) fn reap(pid: libc::pid_t) -> io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: wait4 fills the status word and the zeroed rusage we own.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut rusage) };
        if rc == pid {
            return Ok((status, rusage));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

impl Stream {
    /// Reads what is available; closes the stream at EOF or on a read error.
    fn read_available(&mut self, buf: &mut [u8]) {
        let Some(fd) = &self.fd else { return };
        for _ in 0..READS_PER_WAKEUP {
            // SAFETY: reading into a buffer we own, at most its length.
            let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                let n = usize::try_from(n).unwrap_or(0).min(buf.len());
                self.capture.push(&buf[..n]);
                continue;
            }
            if n < 0 {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::WouldBlock => return,
                    io::ErrorKind::Interrupted => continue,
                    _ => {}
                }
            }
            self.fd = None; // EOF or a hard error: nothing more will come
            return;
        }
    }
}

/// Supervises the child `pid` (leader of its own process group) until it is
/// reaped and its pipes are drained. On an error the group is killed and the
/// child reaped before returning.
pub(crate) fn supervise(
    pid: libc::pid_t,
    stdout: OwnedFd,
    stderr: OwnedFd,
    limits: &Limits,
    started: Instant,
    mut cgroup: Option<&mut CommandCgroup>,
    cancel: Option<BorrowedFd<'_>>,
) -> io::Result<Finished> {
    let result = supervise_inner(pid, stdout, stderr, limits, started, &mut cgroup, cancel);
    if result.is_err() {
        kill_all(pid, &mut cgroup);
        let _ = reap(pid);
    }
    result
}

/// The supervision loop: one `poll` per turn over the child's two pipes, its
/// pidfd (where the kernel has them) and the cancel fd, with the timeout of
/// whatever happens next (the deadline, the end of the kill grace, the end
/// of the drain). Nothing here blocks on one source, so a child that floods
/// stdout cannot hide a timeout and a silent child costs no CPU.
fn supervise_inner(
    pid: libc::pid_t,
    stdout: OwnedFd,
    stderr: OwnedFd,
    limits: &Limits,
    started: Instant,
    cgroup: &mut Option<&mut CommandCgroup>,
    cancel: Option<BorrowedFd<'_>>,
) -> io::Result<Finished> {
    // Non-blocking reads: `poll` says a pipe is readable, and one read
    // takes what is there without waiting for a full chunk.
    set_nonblocking(&stdout)?;
    set_nonblocking(&stderr)?;
    let cap = limits.max_output_bytes();
    let mut streams = [
        Stream {
            fd: Some(stdout),
            capture: StreamCapture::new(cap),
        },
        Stream {
            fd: Some(stderr),
            capture: StreamCapture::new(cap),
        },
    ];
    let pidfd = pidfd_open(pid);
    let deadline = started + limits.timeout;
    let mut phase = Phase::Running;
    let mut timed_out = false;
    let mut cancelled = false;
    let mut reaped: Option<(libc::c_int, libc::rusage, Instant)> = None;
    let mut backoff = Duration::from_millis(1);
    let mut buf = vec![0u8; READ_CHUNK];

    loop {
        // The leader's exit ends the command: whatever it left running in
        // its group or cgroup (a daemonised child) is killed at once, and
        // the pipes are drained for a short while (grandchildren may still
        // hold them open; the drain is bounded so they cannot keep leash
        // waiting).
        if reaped.is_none() && leader_exited(pid)? {
            kill_all(pid, cgroup);
            let (status, rusage) = reap(pid)?;
            reaped = Some((status, rusage, Instant::now()));
        }
        let now = Instant::now();
        let open = streams.iter().any(|s| s.fd.is_some());
        if let Some((_, _, at)) = reaped {
            if !open || now >= at + DRAIN_AFTER_EXIT {
                break;
            }
        } else {
            // The timeout: SIGTERM first so a well-behaved program can clean
            // up, SIGKILL to the group and cgroup once the grace is over.
            match phase {
                Phase::Running if now >= deadline => {
                    tracing::debug!(pid, "timeout: SIGTERM to the process group");
                    kill_group(pid, libc::SIGTERM);
                    timed_out = true;
                    phase = Phase::Terminating {
                        kill_at: now + limits.kill_grace,
                    };
                }
                Phase::Terminating { kill_at } if now >= kill_at => {
                    tracing::debug!(pid, "grace over: SIGKILL to the process group and cgroup");
                    kill_all(pid, cgroup);
                    phase = Phase::Killed;
                }
                Phase::Running | Phase::Terminating { .. } | Phase::Killed => {}
            }
        }

        let wake_at = match (reaped, phase) {
            (Some((_, _, at)), _) => at + DRAIN_AFTER_EXIT,
            (None, Phase::Running) => deadline,
            (None, Phase::Terminating { kill_at }) => kill_at,
            (None, Phase::Killed) => now + Duration::from_millis(50),
        };
        // Without a pidfd (old kernels, some Android builds) the leader's
        // exit makes no fd readable: poll with a short, growing timeout.
        let mut wait = wake_at.saturating_duration_since(now);
        let watch_pidfd = reaped.is_none() && pidfd.is_some();
        if reaped.is_none() && pidfd.is_none() {
            wait = wait.min(backoff);
            backoff = (backoff * 2).min(Duration::from_millis(50));
        }

        let mut pollfds: Vec<libc::pollfd> = Vec::with_capacity(3);
        let mut owners: Vec<usize> = Vec::with_capacity(3);
        for (index, stream) in streams.iter().enumerate() {
            if let Some(fd) = &stream.fd {
                pollfds.push(libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
                owners.push(index);
            }
        }
        if let (true, Some(fd)) = (watch_pidfd, &pidfd) {
            pollfds.push(libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // The cancel fd is watched until the command is reaped or already
        // cancelled: a cancel after that has nothing left to stop.
        let cancel_slot = match (reaped, cancelled, cancel) {
            (None, false, Some(fd)) => {
                pollfds.push(libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
                Some(pollfds.len() - 1)
            }
            _ => None,
        };
        let millis =
            libc::c_int::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX);
        // SAFETY: poll on a vector of pollfd we own, with its exact length.
        let rc = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, millis) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        for (pollfd, index) in pollfds.iter().zip(owners.iter()) {
            let ready = libc::POLLIN | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
            if let (true, Some(stream)) = (pollfd.revents & ready != 0, streams.get_mut(*index)) {
                stream.read_available(&mut buf);
            }
        }
        if cancel_slot
            .and_then(|slot| pollfds.get(slot))
            .is_some_and(|p| p.revents & libc::POLLIN != 0)
        {
            tracing::debug!(pid, "cancelled: SIGKILL to the process group and cgroup");
            kill_all(pid, cgroup);
            cancelled = true;
            phase = Phase::Killed;
        }
    }

    let [out, err] = streams;
    let (wait_status, rusage, reaped_at) = match reaped {
        Some(r) => r,
        None => {
            return Err(io::Error::other(
                "supervision ended before the child was reaped",
            ));
        }
    };
    Ok(Finished {
        wait_status,
        rusage,
        timed_out,
        cancelled,
        reaped_at,
        stdout: out.capture.finish(),
        stderr: err.capture.finish(),
    })
}
