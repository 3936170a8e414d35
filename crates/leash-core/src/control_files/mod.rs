//! Control files: files that make programs run code later (git's config and
//! hooks, shell start-up files, `.envrc`, editor and tool configs, leash's own
//! config and rules). A sandboxed command may write inside the workspace, so
//! it could plant a hook that runs **unsandboxed** the next time the person
//! runs git. The guard records these files before every command and checks
//! them after it: a change the command was not approved to make is reverted
//! from the saved copy and reported ([`Tamper`]).
//!
//! Cheap by construction: a snapshot is `lstat` per file; contents are read
//! only the first time a file is seen or when its (inode, size, mtime, ctime,
//! mode, owner) changed, and kept in memory between commands
//! ([`ControlGuard`]'s cache). ctime cannot be set from user space, so a write
//! that restores mtime is still seen.
//!
//! Split: `targets` decides which paths (repository discovery, leash's
//! files, `security.protected`); `snapshot` records and compares them;
//! `revert` puts the saved state back.
//!
//! What it cannot do: files outside the discovered set (a repository deeper
//! than the walk's depth, a program's config that nobody listed in
//! `security.protected`) are not checked; a change is seen only after the
//! command ended (the process group is SIGKILLed first, so nothing of it is
//! still running when leash reverts).

mod revert;
mod snapshot;
mod targets;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use snapshot::{Change, ChangeKind};
pub use targets::{ControlTargets, Root};

use snapshot::{Entry, Snapshot};

/// One unapproved change that was found, and whether it was put back.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Tamper {
    /// The control file.
    pub path: PathBuf,
    /// What the command did to it.
    pub change: ChangeKind,
    /// A short diff summary (`+3/-1 lines`, `120 -> 388 bytes`, `mode 644 -> 755`).
    pub summary: String,
    /// Whether the saved state was restored.
    pub reverted: bool,
    /// Why it could not be restored, when it was not.
    pub error: Option<String>,
}

/// Records control files before a command and checks them after.
#[derive(Debug)]
pub struct ControlGuard {
    targets: ControlTargets,
    /// Contents seen before, by path and stat key: unchanged files are never
    /// read twice.
    cache: Mutex<HashMap<PathBuf, Entry>>,
}

/// What [`ControlGuard::before`] recorded, to be handed to
/// [`ControlGuard::after`].
#[derive(Debug)]
pub struct Before {
    roots: Vec<Root>,
    snapshot: Snapshot,
}

impl ControlGuard {
    /// A guard over `targets`.
    pub fn new(targets: ControlTargets) -> ControlGuard {
        ControlGuard {
            targets,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Records the control files as they are now.
    pub fn before(&self) -> Before {
        let roots = self.targets.roots();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let snapshot = Snapshot::take(&roots, &cache);
        cache.clear();
        for (path, entry) in snapshot.entries() {
            cache.insert(path.clone(), entry.clone());
        }
        Before { roots, snapshot }
    }

    /// Compares the control files with `before`. With `approved` (a person
    /// approved this very command), changes are accepted and returned as
    /// reverted = false; otherwise each is reverted from the saved copy.
    /// Repositories that appeared during the command are checked as new: a
    /// hook that is not a `.sample`, or a config key that runs code, is
    /// removed.
    pub fn after(&self, before: Before, approved: bool) -> Vec<Tamper> {
        let mut roots = before.roots.clone();
        for root in self.targets.roots() {
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        let after = Snapshot::take_after(&roots, &before.snapshot);
        let mut changes = before.snapshot.changes(&after);
        changes.retain(|c| !(c.kind == ChangeKind::Created && new_and_harmless(c)));
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let summary = change.summary();
            let (reverted, error) = if approved {
                (false, None)
            } else {
                match revert::revert(&change) {
                    Ok(()) => (true, None),
                    Err(e) => (false, Some(e.to_string())),
                }
            };
            out.push(Tamper {
                path: change.path.clone(),
                change: change.kind,
                summary,
                reverted,
                error,
            });
        }
        // Whatever is on disk now is the baseline for the next command.
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        for (path, entry) in after.entries() {
            if out.iter().all(|t| !t.reverted || &t.path != path) {
                cache.insert(path.clone(), entry.clone());
            }
        }
        out
    }

    /// The targets, for `leash doctor` and tests.
    pub fn targets(&self) -> &ControlTargets {
        &self.targets
    }
}

/// A file created in a repository that did not exist before the command
/// (`git init`, `git clone`): sample hooks, plain data and config without keys
/// that run code are fine; anything else is treated as planted.
fn new_and_harmless(change: &Change) -> bool {
    let Some(root) = &change.root else {
        return false;
    };
    if !root.new_repository {
        return false;
    }
    let path = &change.path;
    if path_has_component(path, "hooks") {
        return path.extension().is_some_and(|e| e == "sample") || change.is_dir();
    }
    if path.file_name().is_some_and(|n| n == "config") {
        return change
            .after_text()
            .is_some_and(|text| !targets::config_runs_code(&text));
    }
    true
}

fn path_has_component(path: &Path, name: &str) -> bool {
    path.components().any(|c| c.as_os_str() == name)
}

/// The job-failing reason for a list of tampers, readable by the model and the
/// person.
pub fn tamper_reason(tampers: &[Tamper]) -> String {
    let list: Vec<String> = tampers
        .iter()
        .map(|t| {
            format!(
                "{} ({}: {}{})",
                t.path.display(),
                t.change.as_str(),
                t.summary,
                if t.reverted {
                    ", reverted"
                } else {
                    ", NOT reverted"
                }
            )
        })
        .collect();
    format!(
        "the command changed control files it was not approved to change (files that make programs run code later): {}",
        list.join("; ")
    )
}

/// Shared handle, so that an engine and its runners use one cache.
pub type SharedGuard = Arc<ControlGuard>;
