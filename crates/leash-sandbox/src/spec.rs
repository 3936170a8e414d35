//! What to run and inside which walls.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::layer::Layer;
use crate::limits::Limits;

/// One execution request. The policy has already judged exactly this argv and
/// resolved the program; the executor adds no lookup and no shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSpec {
    /// Absolute path of the program, resolved by the policy; never looked up in PATH.
    pub program: PathBuf,
    /// The argv, `argv[0]` included (passed verbatim as the child's `argv[0]`).
    pub argv: Vec<OsString>,
    /// The child's working directory.
    pub cwd: PathBuf,
    /// The complete child environment, normally from [`crate::scrubbed_env`].
    /// `TMPDIR` is replaced by the run's private tmp.
    pub env: Vec<(OsString, OsString)>,
    /// Time, CPU, memory, file size, output, process and file-descriptor bounds.
    pub limits: Limits,
    /// Directories (or files) the child may write (Landlock). The private tmp
    /// and `/dev/null` are added by the executor.
    pub write_roots: Vec<PathBuf>,
    /// Directories (or files) the child may read and execute from, in addition to
    /// the write roots and the system directories programs need (`/usr`, `/bin`,
    /// `/lib*`, `/etc`, `/proc`, Android's `/system`, `/apex`, Termux's
    /// `$PREFIX`, ...). The cwd is not added implicitly.
    pub read_roots: Vec<PathBuf>,
    /// Allow TCP bind/connect and non-UNIX sockets.
    pub network: bool,
    /// Layers that must be active; when one is missing nothing is spawned.
    pub required: Vec<Layer>,
    /// Where the private tmp of the run is created. Use `std::env::temp_dir()` on
    /// ordinary Linux; on Termux a directory under the state dir, never
    /// `$PREFIX/tmp` (Android wipes it).
    pub tmp_base: PathBuf,
    /// Run the child under another uid/gid (supplementary groups dropped). Only
    /// meaningful when leash runs as root, where RLIMIT_NPROC is otherwise not
    /// enforced. Refused on Android, whose app seccomp filter kills `setuid`.
    pub run_as: Option<RunAs>,
}

/// A uid/gid pair to switch to before exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// The user id.
    pub uid: u32,
    /// The group id.
    pub gid: u32,
}
