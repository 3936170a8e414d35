//! The Landlock ruleset of one run, built in the parent (paths are opened
//! before fork); the child only calls `landlock_restrict_self` on the fd.
//!
//! Handled (denied unless a rule grants it), best effort down to what the
//! kernel's ABI offers, up to ABI 6:
//! - every file-system right: writes only under the write roots, the private tmp
//!   and a few device files (`/dev/null`, `/dev/full`); reads and execution only
//!   under the read roots, the write roots, the program itself and the system
//!   directories programs need to start (below);
//! - TCP bind and connect (ABI 4+), when network is off;
//! - signals to processes outside the sandbox (ABI 6+), always; connecting to
//!   abstract UNIX sockets created outside (ABI 6+), when network is off.
//!
//! What it cannot do: rights the running kernel's ABI lacks are simply not
//! enforced (ABI 1 cannot stop rename-across-directories tricks, ABI < 3 cannot
//! stop `truncate`, ABI < 4 cannot stop TCP, UDP is never covered, pathname
//! UNIX sockets need ABI 9); file descriptors the child inherited stay usable;
//! `/proc` is readable as a whole (per-pid rules would need the pid before fork).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
    make_bitflags, path_beneath_rules,
};

use crate::spec::SandboxSpec;

/// The newest ABI this code was written and tested against.
pub(crate) const TARGET_ABI: ABI = ABI::V6;

/// The newest ABI number leash uses (for `leash doctor`).
pub(crate) const TARGET_ABI_NUMBER: i32 = 6;

/// Directories every program may read and execute from, when they exist:
/// ordinary Linux, then Android's system partitions (bionic, the linker and its
/// config live there).
const SYSTEM_READ_ROOTS: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/proc",
    "/sys/devices/system/cpu",
    "/system",
    "/apex",
    "/vendor",
    "/product",
    "/odm",
    "/linkerconfig",
];

/// Device files any program may read.
const READABLE_DEVICES: &[&str] = &["/dev/zero", "/dev/urandom", "/dev/random"];

/// Device files any program may write.
const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/full"];

fn err(context: &str, e: impl std::fmt::Display) -> String {
    format!("{context}: {e}")
}

/// The read roots of a run: system directories, Termux's `$PREFIX` when given,
/// the spec's read roots and the program itself.
fn read_roots(spec: &SandboxSpec, termux_prefix: Option<&Path>) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = SYSTEM_READ_ROOTS.iter().map(PathBuf::from).collect();
    roots.extend(termux_prefix.map(Path::to_path_buf));
    roots.extend(spec.read_roots.iter().cloned());
    roots.push(spec.program.clone());
    roots
}

/// Builds the ruleset and returns its fd, ready for `landlock_restrict_self`.
/// Paths that do not exist are skipped (they grant nothing).
pub(crate) fn build_ruleset(
    spec: &SandboxSpec,
    private_tmp: &Path,
    termux_prefix: Option<&Path>,
) -> Result<OwnedFd, String> {
    let abi = TARGET_ABI;
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(|e| err("handling file-system access", e))?;
    let mut scopes: BitFlags<Scope> = Scope::Signal.into();
    if !spec.network {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(abi))
            .map_err(|e| err("handling TCP access", e))?;
        scopes |= Scope::AbstractUnixSocket;
    }
    ruleset = ruleset
        .scope(scopes)
        .map_err(|e| err("scoping signals and abstract sockets", e))?;

    let mut writable: Vec<PathBuf> = spec.write_roots.clone();
    writable.push(private_tmp.to_path_buf());
    let device_rw = make_bitflags!(AccessFs::{ReadFile | WriteFile | Truncate | IoctlDev});

    let created = ruleset
        .create()
        .map_err(|e| err("creating the ruleset", e))?
        .add_rules(path_beneath_rules(
            read_roots(spec, termux_prefix),
            AccessFs::from_read(abi),
        ))
        .map_err(|e| err("adding read roots", e))?
        .add_rules(path_beneath_rules(writable, AccessFs::from_all(abi)))
        .map_err(|e| err("adding write roots", e))?
        .add_rules(path_beneath_rules(WRITABLE_DEVICES, device_rw))
        .map_err(|e| err("adding writable devices", e))?
        .add_rules(path_beneath_rules(READABLE_DEVICES, AccessFs::ReadFile))
        .map_err(|e| err("adding readable devices", e))?;
    let fd: Option<OwnedFd> = created.into();
    fd.ok_or_else(|| "the kernel did not create a ruleset (Landlock not enforced)".to_owned())
}
