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
//! System roots come from `leash-system-paths`, the list the policy shares.
//! The system secrets in it are removed by a second layer, the secret mask
//! ([`build_secret_mask`]): every entry from `/` down is granted except the
//! secrets, listing only directories that lead to one, so `/etc` is readable
//! per entry without `shadow`, `ssl/private`, `sudoers*`, ...

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

/// Where the secret mask grants everything although secrets lie inside:
/// `/dev`'s secrets (`mem`, `kmem`, `port`) are never granted by the per-run
/// layer anyway, and `/proc`'s secrets are
/// per process (`/proc/<pid>/environ`, `mem`) and cannot be named before the
/// fork; leash makes itself non-dumpable (`harden_process`) so that its own
/// stay closed, and the kernel's ptrace access checks guard other users'.
const GRANTED_WHOLE: &[&str] = &["/proc", "/dev"];

fn err(context: &str, e: impl std::fmt::Display) -> String {
    format!("{context}: {e}")
}

/// The read roots of a run: system directories, Termux's `$PREFIX` when given,
/// the spec's read roots and the program itself.
fn read_roots(spec: &SandboxSpec, termux_prefix: Option<&Path>) -> Vec<PathBuf> {
    // Whole roots here: the secrets inside them are taken out by the secret
    // mask, a second Landlock layer (see `build_secret_mask`).
    let mut roots: Vec<PathBuf> = SYSTEM_READ_ROOTS.iter().map(PathBuf::from).collect();
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
    if GRANTED_WHOLE.iter().any(|w| Path::new(w) == path) {
        out.push(path.to_path_buf());
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

/// The secret mask: a Landlock layer that grants every access everywhere
/// except to the system secrets, entry by entry from `/` down (only the
/// directories that lead to a secret are listed: `/`, `/etc`, `/etc/ssh`,
/// `/etc/ssl`, ...). Landlock layers intersect, so stacked under the per-run
/// ruleset it removes exactly the secrets from what that grants. Built once per
/// executor and rebuilt when `/` or `/etc` changes (see `Executor`), so a run
/// pays two `landlock_restrict_self` calls instead of ~200 rules.
pub(crate) fn build_secret_mask() -> Result<OwnedFd, String> {
    let abi = TARGET_ABI;
    let mut entries = Vec::new();
    push_without_secrets(Path::new("/"), &mut entries);
    let created = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(|e| err("handling file-system access (secret mask)", e))?
        .create()
        .map_err(|e| err("creating the secret mask", e))?
        .add_rules(path_beneath_rules(entries, AccessFs::from_all(abi)))
        .map_err(|e| err("adding the secret mask's entries", e))?;
    let fd: Option<OwnedFd> = created.into();
    fd.ok_or_else(|| "the kernel did not create the secret mask (Landlock not enforced)".to_owned())
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
