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
//!
//! System roots come from `leash-system-paths`, the list the policy shares;
//! read access is granted per entry where a system secret lies inside a root
//! (`/etc`), leaving the secrets out.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
    make_bitflags, path_beneath_rules,
};

use leash_system_paths::{
    READABLE_DEVICES, SYSTEM_READ_ROOTS, WRITABLE_DEVICES, is_secret, leads_to_secret,
};

use crate::spec::SandboxSpec;

/// The newest ABI this code was written and tested against.
pub(crate) const TARGET_ABI: ABI = ABI::V6;

/// The newest ABI number leash uses (for `leash doctor`).
pub(crate) const TARGET_ABI_NUMBER: i32 = 6;

/// Roots granted whole although secrets lie inside: `/proc`'s secrets are
/// per process (`/proc/<pid>/environ`, `mem`) and cannot be named before the
/// fork; leash makes itself non-dumpable (`harden_process`) so that its own
/// stay closed, and the kernel's ptrace access checks guard other users'.
const GRANTED_WHOLE: &[&str] = &["/proc"];

fn err(context: &str, e: impl std::fmt::Display) -> String {
    format!("{context}: {e}")
}

/// The read roots of a run: system directories, Termux's `$PREFIX` when given,
/// the spec's read roots and the program itself.
fn read_roots(spec: &SandboxSpec, termux_prefix: Option<&Path>) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    for root in SYSTEM_READ_ROOTS {
        if GRANTED_WHOLE.contains(root) {
            roots.push(PathBuf::from(root));
        } else {
            push_without_secrets(Path::new(root), &mut roots);
        }
    }
    roots.extend(termux_prefix.map(Path::to_path_buf));
    roots.extend(spec.read_roots.iter().cloned());
    roots.push(spec.program.clone());
    roots
}

/// Pushes `path`, or, when a system secret lies inside it, each of its entries
/// the same way (so `/etc` is granted entry by entry, minus `shadow`,
/// `ssl/private`, ...). Secrets themselves are left out. Entries are listed
/// when the ruleset is built, so a file created in `/etc` later is not readable
/// by commands started before. Symlinks are never followed while walking: a
/// symlink entry is granted as what it points to (Landlock opens it), which is
/// how `/etc/localtime` keeps working; a symlink pointing at a secret would
/// expose it, so such a symlink is left out as well.
fn push_without_secrets(path: &Path, out: &mut Vec<PathBuf>) {
    if is_secret(path) {
        return;
    }
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_symlink() {
        match std::fs::canonicalize(path) {
            Ok(target) if !is_secret(&target) && !leads_to_secret(&target) => {
                out.push(path.to_path_buf());
            }
            _ => {}
        }
        return;
    }
    if !meta.is_dir() || !leads_to_secret(path) {
        out.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return; // unreadable: grant nothing rather than the whole directory
    };
    for entry in entries.flatten() {
        push_without_secrets(&entry.path(), out);
    }
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
