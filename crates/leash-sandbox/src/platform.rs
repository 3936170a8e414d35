//! Facts about the machine the probes depend on: kernel, Termux, Android SDK,
//! and the one fork helper every fatal-if-wrong probe runs through.

use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

/// `uname`: system name, release and machine, e.g. "Linux 6.18.44 x86_64".
pub(crate) fn kernel() -> String {
    // SAFETY: `uname` fills the zeroed struct we own; the fields are
    // NUL-terminated C strings inside it.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return format!("unknown (uname failed: {})", io::Error::last_os_error());
    }
    let field = |raw: &[libc::c_char]| {
        let bytes: Vec<u8> = raw
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&uts.sysname),
        field(&uts.release),
        field(&uts.machine)
    )
}

/// True under Termux (the one detector every crate shares:
/// [`leash_system_paths::termux_prefix`]).
pub(crate) fn is_termux() -> bool {
    leash_system_paths::termux_prefix().is_some()
}

/// True on Android (compiled for it, or Android's system partition is present).
pub(crate) fn is_android(termux: bool) -> bool {
    cfg!(target_os = "android") || termux || Path::new("/system/build.prop").exists()
}

/// Android's SDK level from `getprop ro.build.version.sdk`. Only called when
/// Android was detected; `getprop` is run by absolute path.
pub(crate) fn android_sdk() -> Option<u32> {
    let output = Command::new("/system/bin/getprop")
        .arg("ro.build.version.sdk")
        .env_clear()
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// How a forked probe child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForkedEnd {
    /// `_exit(code)`.
    Exited(i32),
    /// Killed by this signal (e.g. SIGSYS from Android's seccomp policy).
    Signaled(i32),
}

/// Runs `probe` in a forked child and reports how the child ended. `probe` runs
/// after `fork` in a possibly multi-threaded process: it must only make raw
/// system calls on data prepared before the fork, and return the exit code.
pub(crate) fn in_forked_child(probe: &dyn Fn() -> libc::c_int) -> io::Result<ForkedEnd> {
    // SAFETY: the child only runs `probe` (async-signal-safe by contract) and
    // `_exit`, never returning into Rust code that could allocate or unwind.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let code = probe();
        // SAFETY: terminating the forked child without running atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: waiting for our own child into a local status word.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    if libc::WIFEXITED(status) {
        Ok(ForkedEnd::Exited(libc::WEXITSTATUS(status)))
    } else {
        Ok(ForkedEnd::Signaled(libc::WTERMSIG(status)))
    }
}
