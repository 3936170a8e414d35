//! Resource limits for one execution and the kinds of limit a run can hit.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The bounds one child (and its process group) runs under. `Default` matches the
/// config defaults of `security.limits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall-clock time before the whole process group gets SIGTERM.
    pub timeout: Duration,
    /// RLIMIT_CPU in seconds (SIGXCPU at the limit, SIGKILL one second later).
    pub cpu_s: u64,
    /// RLIMIT_AS in MiB. Address space, not resident memory: runtimes that reserve
    /// large virtual ranges (JVM, V8) need a higher value.
    pub memory_mb: u64,
    /// RLIMIT_FSIZE in MiB: the largest file the child may write.
    pub file_size_mb: u64,
    /// Bytes of stdout and of stderr kept, each, in KiB.
    pub max_output_kb: u64,
    /// RLIMIT_NPROC on top of what the uid already runs (processes and threads).
    pub max_processes: u64,
    /// RLIMIT_NOFILE.
    pub open_files: u64,
    /// Time between SIGTERM and SIGKILL to the group at the timeout.
    pub kill_grace: Duration,
    /// CPU bandwidth of the command's cgroup (`cpu.max`), in percent of one
    /// CPU (100 = one full core, 200 = two). Applies only where the cgroup
    /// layer is active and the `cpu` controller is enabled for it.
    #[serde(default = "default_cpu_percent")]
    pub cpu_percent: u64,
}

fn default_cpu_percent() -> u64 {
    100
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(60),
            cpu_s: 60,
            memory_mb: 512,
            file_size_mb: 64,
            max_output_kb: 256,
            max_processes: 32,
            open_files: 256,
            kill_grace: Duration::from_secs(2),
            cpu_percent: default_cpu_percent(),
        }
    }
}

impl Limits {
    /// The output cap per stream in bytes.
    pub fn max_output_bytes(&self) -> usize {
        usize::try_from(self.max_output_kb.saturating_mul(1024)).unwrap_or(usize::MAX)
    }
}

/// A limit the run ran into, as far as leash can tell from outside.
///
/// Address-space exhaustion is not listed: it shows up as the program's own
/// allocation failure (ENOMEM, `MemoryError`, abort), which cannot be told apart
/// reliably from other failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// Killed by SIGXCPU, or by SIGKILL after using up the CPU limit.
    Cpu,
    /// Killed by SIGXFSZ: tried to write past RLIMIT_FSIZE.
    FileSize,
    /// stdout or stderr was longer than the cap.
    Output,
    /// The wall-clock timeout expired; the group was killed.
    Timeout,
}
