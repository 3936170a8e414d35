//! Journal before change: the pre-image of every write target is saved and
//! the entry committed (fsynced, in the state database) before the action
//! runs; a failure here means the action does not run.
//!
//! An entry starts `not_started`; after the action ran its after-images are
//! recorded and it becomes `done`. A crash between the two leaves it
//! `not_started`, which undo skips unless told to restore it anyway.

use leash_store::AuditKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use leash_policy::WriteTargets;
use leash_store::{AuditEntry, AuditLog, NewUndoAction, NewUndoTarget, Store, UndoState};
use serde_json::json;

use crate::class::Reversibility;
use crate::error::UndoError;
use crate::objects::ObjectStore;
use crate::snapshot::{Capture, Snapshot, capture, estimate};
use crate::write_mode::WriteMode;

/// `undo:` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UndoSettings {
    /// The most the pre-image store may hold (`undo.max_mb`).
    pub max_bytes: u64,
    /// Entries older than this are pruned (`undo.keep_days`).
    pub keep_days: u64,
    /// Files bigger than this are journaled by hard link or not at all
    /// (`undo.max_file_mb`).
    pub max_file_bytes: u64,
    /// Irreversible actions always need a person (`undo.approve_irreversible`).
    pub approve_irreversible: bool,
}

impl Default for UndoSettings {
    fn default() -> Self {
        UndoSettings {
            max_bytes: 512 * 1024 * 1024,
            keep_days: 14,
            max_file_bytes: 16 * 1024 * 1024,
            approve_irreversible: false,
        }
    }
}

/// A target the journal will save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedTarget {
    pub path: PathBuf,
    pub recursive: bool,
    /// A big file may be kept by hard link (the action replaces the file).
    pub link_ok: bool,
    /// Any file may be kept by hard link: the action writes a new inode
    /// over it ([`WriteMode::NewInode`]) on the journal's filesystem.
    pub link_any: bool,
}

/// What the journal will do for one action, decided before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Whether `leash undo` will be able to take the action back; shown on the
    /// approval prompt.
    pub class: Reversibility,
    /// Why it is not fully reversible.
    pub reason: Option<String>,
    pub(crate) targets: Vec<PlannedTarget>,
    /// How the pre-images will be kept, where that is worth saying (a copy
    /// made because the target is on another filesystem than the journal).
    pub(crate) notes: Vec<String>,
}

impl Plan {
    /// The paths that will be journaled.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.targets.iter().map(|t| t.path.as_path())
    }

    /// Whether there is an entry to write (something journaled, or an
    /// action that cannot be undone and should be listed as such).
    pub fn journals(&self) -> bool {
        !self.targets.is_empty() || self.class != Reversibility::Reversible
    }

    /// The JSON the audit records carry.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "class": self.class.as_str(),
            "reason": self.reason,
            "targets": self.targets.iter().map(|t| t.path.to_string_lossy()).collect::<Vec<_>>(),
        })
    }
}

/// Which job, step and action an entry belongs to, and what it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryContext {
    /// The job; `None` for `leash exec`, whose entries gc keeps only while in
    /// flight (an hour, `gc::IN_FLIGHT`).
    pub job_id: Option<i64>,
    /// The agent step.
    pub step: Option<u32>,
    /// The action's index within the step.
    pub action: Option<u32>,
    /// What the action is (`what`) and, when not fully reversible, why
    /// (`reason`); shown by `leash jobs show` and `leash undo`.
    pub summary: serde_json::Value,
}

/// An entry journaled before its action; finish it after the action ran.
#[derive(Debug)]
#[must_use = "finish the entry after the action ran"]
pub struct Pending {
    /// The entry's id in the undo tables.
    pub id: i64,
    job_id: Option<i64>,
    /// The `undo.journaled` record's payload (appended by the caller, in
    /// the same group as the next record it writes).
    payload: serde_json::Value,
    audit_seq: Option<u64>,
    targets: Vec<(i64, PathBuf, bool)>,
}

impl Pending {
    /// The `undo.journaled` audit record of this entry. The caller appends it
    /// (grouped with its own next record, e.g. `command.started`) and hands
    /// back its seq with [`Pending::set_audit_seq`].
    pub fn record(&self) -> AuditEntry {
        AuditEntry::new(self.job_id, AuditKind::UndoJournaled, self.payload.clone())
    }

    /// Links the entry to its `undo.journaled` record.
    pub fn set_audit_seq(&mut self, seq: u64) {
        self.audit_seq = Some(seq);
    }
}

/// The rollback journal: the state database's undo tables and the object store.
#[derive(Debug)]
pub struct Journal {
    pub(crate) store: Mutex<Store>,
    /// The state database (its filesystem is synced with the pre-images').
    pub(crate) db: PathBuf,
    pub(crate) objects: ObjectStore,
    pub(crate) settings: UndoSettings,
    /// The step and action the engine is carrying out (set per action).
    context: Mutex<(Option<u32>, Option<u32>)>,
}

impl Journal {
    /// Opens the journal in `db` with pre-images under `undo_dir` (mode 0700).
    pub fn open(db: &Path, undo_dir: &Path, settings: UndoSettings) -> Result<Journal, UndoError> {
        crate::objects::private_dir(undo_dir)?;
        let objects = ObjectStore::open(&undo_dir.join("objects"))?;
        Ok(Journal {
            store: Mutex::new(Store::open(db)?),
            db: db.to_path_buf(),
            objects,
            settings,
            context: Mutex::new((None, None)),
        })
    }

    /// The `undo:` settings the journal was opened with.
    pub fn settings(&self) -> &UndoSettings {
        &self.settings
    }

    /// The pre-image store (tests and gc inspect it).
    pub fn objects(&self) -> &ObjectStore {
        &self.objects
    }

    pub(crate) fn store(&self) -> Result<std::sync::MutexGuard<'_, Store>, UndoError> {
        self.store.lock().map_err(|_| UndoError::Poisoned)
    }

    /// Records which step and action of a job the next entries belong to.
    pub fn set_action(&self, step: u32, action: u32) {
        if let Ok(mut ctx) = self.context.lock() {
            *ctx = (Some(step), Some(action));
        }
    }

    /// Classes an action from its write targets, before it runs: what can be
    /// journaled, and whether it all fits (`undo.max_mb`, `undo.max_file_mb`).
    /// `replaces`: the action replaces or only touches its files
    /// ([`WriteMode::SameInode`]), else it writes them in place.
    pub fn plan(&self, writes: &WriteTargets, replaces: bool) -> Plan {
        let mode = if replaces {
            WriteMode::SameInode
        } else {
            WriteMode::InPlace
        };
        self.plan_with(writes, mode)
    }

    /// [`Journal::plan`] for an action that writes its targets as `mode` says.
    pub fn plan_with(&self, writes: &WriteTargets, mode: WriteMode) -> Plan {
        let mut reasons: Vec<String> = Vec::new();
        if !writes.beyond_files.is_empty() {
            return Plan {
                class: Reversibility::Irreversible,
                reason: Some(format!(
                    "its effects reach beyond files: {}",
                    writes.beyond_files.join("; ")
                )),
                targets: Vec::new(),
                notes: Vec::new(),
            };
        }
        if !writes.unknown.is_empty() && writes.targets.is_empty() {
            return Plan {
                class: Reversibility::Irreversible,
                reason: Some(writes.unknown.join("; ")),
                targets: Vec::new(),
                notes: Vec::new(),
            };
        }
        reasons.extend(writes.unknown.iter().cloned());
        let device = self.objects.device().ok();
        let mut bytes = 0u64;
        let mut targets = Vec::new();
        let mut dropped = 0usize;
        let mut notes = Vec::new();
        for t in with_created_parents(&writes.targets) {
            // A directory is journaled with everything below it: `mv DIR X`
            // or `rm -r`-like effects must not come back as an empty dir.
            let recursive = t.recursive || t.path.is_dir();
            let t = leash_policy::WriteTarget {
                path: t.path,
                recursive,
            };
            match estimate(&t.path, t.recursive, self.settings.max_file_bytes) {
                Ok((need, big)) => {
                    let link_ok =
                        mode.links_big_files() && big.iter().all(|b| same_device(b, device));
                    // A new inode written over the target leaves the old one
                    // to the journal: keep it by hard link, no copy, no hash.
                    // Across filesystems a link is impossible: copy, and say so.
                    let link_any = mode == WriteMode::NewInode
                        && !t.recursive
                        && std::fs::symlink_metadata(&t.path).is_ok_and(|m| m.is_file());
                    let link_any = link_any && {
                        let here = same_device(&t.path, device);
                        if !here {
                            notes.push(format!(
                                "{} is copied (another filesystem than the journal)",
                                t.path.display()
                            ));
                        }
                        here
                    };
                    if !big.is_empty() && !link_ok {
                        dropped += 1;
                        reasons.push(format!(
                            "{} is over undo.max_file_mb and is rewritten in place (or on another filesystem)",
                            big.first().map(|b| b.display().to_string()).unwrap_or_default()
                        ));
                        continue;
                    }
                    // A linked pre-image holds its blocks too: counted alike.
                    bytes = bytes.saturating_add(need);
                    targets.push(PlannedTarget {
                        path: t.path.clone(),
                        recursive: t.recursive,
                        link_ok,
                        link_any,
                    });
                }
                Err(err) => {
                    dropped += 1;
                    reasons.push(err.to_string());
                }
            }
        }
        let used = self.objects.usage().unwrap_or(u64::MAX);
        if used.saturating_add(bytes) > self.settings.max_bytes {
            return Plan {
                class: Reversibility::Irreversible,
                reason: Some(format!(
                    "its pre-images ({} KiB) would not fit in undo.max_mb ({} KiB of {} KiB used)",
                    bytes / 1024,
                    used / 1024,
                    self.settings.max_bytes / 1024
                )),
                targets: Vec::new(),
                notes: Vec::new(),
            };
        }
        let class = if targets.is_empty() && dropped > 0 {
            Reversibility::Irreversible
        } else if reasons.is_empty() {
            Reversibility::Reversible
        } else {
            Reversibility::PartlyReversible
        };
        Plan {
            class,
            reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
            targets,
            notes,
        }
    }

    /// Saves the pre-images and commits the entry (`not_started`), makes
    /// both durable, then records `undo.journaled`. When this fails the
    /// action must not run. (The engine uses [`Journal::prepare`] and
    /// groups the record with its own instead.)
    pub fn begin(
        &self,
        ctx: &EntryContext,
        plan: &Plan,
        audit: &AuditLog,
    ) -> Result<Option<Pending>, UndoError> {
        let Some(mut pending) = self.prepare(ctx, plan)? else {
            return Ok(None);
        };
        self.make_durable(None)?;
        let record = audit
            .append_group(vec![pending.record()])
            .map_err(UndoError::Audit)?;
        if let Some(r) = record.first() {
            pending.set_audit_seq(r.seq);
        }
        Ok(Some(pending))
    }

    /// Saves the pre-images and commits the entry (`not_started`), **not yet
    /// durable**: the caller must call [`Journal::make_durable`] (or sync
    /// through a [`crate::Barrier`]) before the action changes anything, and
    /// append [`Pending::record`]. Splitting it lets one sync cover the
    /// pre-images, the entry and the action's own new file.
    pub fn prepare(&self, ctx: &EntryContext, plan: &Plan) -> Result<Option<Pending>, UndoError> {
        if !plan.journals() {
            return Ok(None);
        }
        let (step, action) = match (ctx.step, ctx.action) {
            (None, None) => self.context.lock().map(|c| *c).unwrap_or((None, None)),
            (step, action) => (step, action),
        };
        let mut rows = Vec::with_capacity(plan.targets.len());
        for t in &plan.targets {
            let snap = capture(
                &t.path,
                t.recursive,
                Capture::Save {
                    objects: &self.objects,
                    max_file: self.settings.max_file_bytes,
                    link_ok: t.link_ok,
                    link_any: t.link_any,
                },
            )?;
            rows.push(NewUndoTarget {
                path: t.path.clone(),
                recursive: t.recursive,
                before: serde_json::to_string(&snap)?,
            });
        }
        let mut summary = json!({"what": ctx.summary});
        if let Some(reason) = &plan.reason {
            summary["reason"] = json!(reason);
        }
        if !plan.notes.is_empty() {
            summary["pre_images"] = json!(plan.notes);
        }
        let (id, ids) = self.store()?.undo_begin(
            &NewUndoAction {
                job_id: ctx.job_id,
                step,
                action,
                summary: summary.to_string(),
                class: plan.class.as_str().to_owned(),
            },
            &rows,
            false,
        )?;
        let mut payload = plan.to_json();
        payload["entry"] = json!(id);
        Ok(Some(Pending {
            id,
            job_id: ctx.job_id,
            payload,
            audit_seq: None,
            targets: ids
                .into_iter()
                .zip(&plan.targets)
                .map(|(tid, t)| (tid, t.path.clone(), t.recursive))
                .collect(),
        }))
    }

    /// Records the after-images of an entry whose action ran: it becomes `done`.
    pub fn finish(&self, pending: Pending) -> Result<(), UndoError> {
        let mut after = Vec::with_capacity(pending.targets.len());
        for (tid, path, recursive) in &pending.targets {
            let snap = self.observe(path, *recursive || path.is_dir())?;
            after.push((*tid, serde_json::to_string(&snap)?));
        }
        // Not fsynced: the pre-images and the entry already are. A crash
        // that loses this leaves the entry `not_started`, restorable with
        // `--force`; it never loses a pre-image.
        self.store()?.undo_finish(
            pending.id,
            UndoState::Done,
            &after,
            pending.audit_seq,
            false,
        )?;
        Ok(())
    }

    /// What is at `path` now, identified the way after-images are.
    pub(crate) fn observe(&self, path: &Path, recursive: bool) -> Result<Snapshot, UndoError> {
        capture(
            path,
            recursive,
            Capture::Observe {
                max_file: self.settings.max_file_bytes,
            },
        )
    }
}

/// The targets, then the topmost missing ancestor of each (a program may
/// create it: `mkdir -p`, `tar -x`, `cp --parents`), so undo removes it too.
fn with_created_parents(targets: &[leash_policy::WriteTarget]) -> Vec<leash_policy::WriteTarget> {
    let mut out: Vec<leash_policy::WriteTarget> = targets.to_vec();
    for t in targets {
        let mut topmost = None;
        let mut dir = t.path.parent();
        while let Some(d) = dir {
            if std::fs::symlink_metadata(d).is_ok() {
                break;
            }
            topmost = Some(d.to_path_buf());
            dir = d.parent();
        }
        if let Some(path) = topmost
            && !out.iter().any(|o| o.path == path)
        {
            out.push(leash_policy::WriteTarget {
                path,
                recursive: false,
            });
        }
    }
    out
}

fn same_device(path: &Path, device: Option<u64>) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(device) = device else { return false };
    std::fs::symlink_metadata(path)
        .map(|m| m.dev() == device)
        .unwrap_or(false)
}
