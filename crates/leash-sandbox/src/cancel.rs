//! Cancelling a running command from another thread (a job cancelled by a
//! person, a daemon shutting down): the command is SIGKILLed whole — its
//! process group and, with the cgroup layer, its cgroup, so descendants that
//! left the group go too.
//!
//! A pipe rather than a flag: the supervision loop sleeps in `poll` until the
//! next deadline, and the pipe's read end wakes it the moment `cancel` is
//! called.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// A cancel switch for one or more runs; cheap to clone, `Send + Sync`.
/// Once cancelled it stays cancelled.
#[derive(Debug, Clone)]
pub struct CancelHandle {
    pipe: Arc<(OwnedFd, OwnedFd)>,
}

impl CancelHandle {
    /// A new, not yet cancelled handle.
    pub fn new() -> io::Result<CancelHandle> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        Ok(CancelHandle {
            pipe: Arc::new((read, write)),
        })
    }

    /// Cancels every run supervised with this handle, now and later.
    pub fn cancel(&self) {
        // One byte is enough and is never read: the read end stays readable.
        // A full pipe (EAGAIN) means it is readable already.
        let _ = nix::unistd::write(&self.pipe.1, b"x");
    }

    /// True once [`CancelHandle::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        let mut fds = [PollFd::new(self.pipe.0.as_fd(), PollFlags::POLLIN)];
        matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
    }

    /// The fd that becomes readable at cancellation.
    pub(crate) fn wake_fd(&self) -> BorrowedFd<'_> {
        self.pipe.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_cancelled_and_is_shared_by_clones() {
        let handle = CancelHandle::new().unwrap();
        let clone = handle.clone();
        assert!(!handle.is_cancelled());
        clone.cancel();
        clone.cancel();
        assert!(handle.is_cancelled());
        assert!(handle.is_cancelled());
    }
}
