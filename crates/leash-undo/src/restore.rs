//! `leash undo`: put the pre-images back, newest change first, with checks.
//!
//! - A target that changed since leash changed it (by anyone: a person, a
//!   later job) is not overwritten: undo stops with the path and what
//!   differs, unless `force`, which journals the current content first so
//!   the undo itself can be undone.
//! - Undo never writes through a link: files are restored by a rename over
//!   the path (which replaces a symlink instead of following it), and a path
//!   whose directory now resolves elsewhere (a component replaced by a
//!   symlink) or lies outside the roots is refused even with `force`.
//! - Restoring is idempotent per path: a path already back at its pre-image
//!   is left alone, so an undo interrupted by a crash can simply be re-run.

use leash_store::AuditKind;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::{FileTimes, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use leash_store::{AuditLog, NewUndoAction, NewUndoTarget, UndoAction, UndoState};
use serde::Serialize;
use serde_json::json;

use crate::class::Reversibility;
use crate::error::UndoError;
use crate::journal::Journal;
use crate::objects::sync_dir;
use crate::snapshot::{Capture, Content, EntryState, Snapshot, capture, rel_path};

/// Which changes to undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Every change of a job, newest first.
    Job(i64),
    /// One journal entry.
    Entry(i64),
    /// The newest change that is not undone.
    Last,
}

/// How to undo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UndoOptions {
    /// Report what would be restored and every conflict, writing nothing.
    pub dry_run: bool,
    /// Restore over targets that changed since; the current content is
    /// journaled first (see [`EntryOutcome::forced_entry`]). Never lifts the
    /// link and root checks.
    pub force: bool,
    /// Undo only writes inside these (the workspace and write roots); empty:
    /// no root check (tests of the journal alone).
    pub roots: Vec<PathBuf>,
}

/// What became of one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryStatus {
    /// Every target is back at its pre-image.
    Restored,
    /// Dry run: every target would be restored.
    WouldRestore,
    /// A target changed since leash changed it (dry run; a real undo stops).
    Conflict,
    /// Undone before; nothing was done again.
    AlreadyUndone,
    /// Journaled but never finished (a crash): nothing to restore, or
    /// restorable only with `force`.
    NotStarted,
    /// Irreversible: nothing was journaled.
    NotUndoable,
}

/// One path and what undo does (or would do) to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathChange {
    /// The path, escaped for display (names may hold newlines or invalid UTF-8).
    pub path: String,
    /// What undo does to it: `remove`, `recreate`, `restore (…)` or `unchanged`.
    pub change: String,
}

/// What undo did (or would do) to one journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryOutcome {
    /// The journal entry.
    pub entry: i64,
    /// Its job, if it had one.
    pub job_id: Option<i64>,
    /// Its reversibility class as journaled (see [`Reversibility`]).
    pub class: String,
    /// What the action was.
    pub summary: serde_json::Value,
    /// What became of it.
    pub status: EntryStatus,
    /// Per path, what was (or would be) done.
    pub changes: Vec<PathChange>,
    /// The entry journaling what `--force` overwrote (undo it to redo).
    pub forced_entry: Option<i64>,
    /// Why the entry is not fully reversible, when it is not.
    pub note: Option<String>,
}

/// What one `leash undo` did, entry by entry, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UndoReport {
    /// One outcome per selected entry.
    pub entries: Vec<EntryOutcome>,
}

struct Loaded {
    path: PathBuf,
    recursive: bool,
    before: Snapshot,
    after: Option<Snapshot>,
}

fn entry_path(target: &Path, key: &str) -> PathBuf {
    match rel_path(key) {
        Ok(rel) if !rel.as_os_str().is_empty() => target.join(rel),
        Ok(_) | Err(_) => target.to_path_buf(),
    }
}

fn show(path: &Path) -> String {
    // Names may hold newlines or invalid UTF-8: show them escaped.
    format!("{:?}", path.as_os_str())
        .trim_matches('"')
        .to_owned()
}

/// Undoes the selected changes. Every restore and refusal is audited
/// (`undo.started`, `undo.restored`, `undo.refused`).
pub fn undo(
    journal: &Journal,
    audit: &AuditLog,
    selection: Selection,
    options: &UndoOptions,
) -> Result<UndoReport, UndoError> {
    let entries: Vec<UndoAction> = {
        let store = journal.store()?;
        match selection {
            Selection::Job(id) => store.undo_actions_for_job(id)?,
            Selection::Entry(id) => store.undo_action(id)?.into_iter().collect(),
            Selection::Last => store.undo_last_done()?.into_iter().collect(),
        }
    };
    if entries.is_empty() {
        return Err(UndoError::Nothing(match selection {
            Selection::Job(id) => format!("job {id} has no journaled changes"),
            Selection::Entry(id) => format!("there is no journal entry {id}"),
            Selection::Last => "no change is waiting to be undone".to_owned(),
        }));
    }
    let job_id = entries.first().and_then(|e| e.job_id);
    if !options.dry_run {
        audit
            .append(
                job_id,
                AuditKind::UndoStarted,
                json!({
                    "selection": format!("{selection:?}"),
                    "entries": entries.iter().map(|e| e.id).collect::<Vec<_>>(),
                    "force": options.force,
                }),
            )
            .map_err(UndoError::Audit)?;
    }
    let mut report = UndoReport::default();
    // A dry run restores nothing, so older entries are compared with what the
    // newer ones would have left: their pre-images.
    let mut simulated: Vec<(PathBuf, Snapshot)> = Vec::new();
    for entry in &entries {
        let outcome = undo_entry(journal, audit, entry, options, &mut simulated)?;
        report.entries.push(outcome);
    }
    Ok(report)
}

fn load(journal: &Journal, entry: &UndoAction) -> Result<Vec<Loaded>, UndoError> {
    let rows = journal.store()?.undo_targets(entry.id)?;
    rows.into_iter()
        .map(|row| {
            let before: Snapshot =
                serde_json::from_str(&row.before).map_err(|source| UndoError::Document {
                    id: entry.id,
                    what: "pre-image",
                    source,
                })?;
            let after = row
                .after
                .as_deref()
                .map(serde_json::from_str::<Snapshot>)
                .transpose()
                .map_err(|source| UndoError::Document {
                    id: entry.id,
                    what: "after-image",
                    source,
                })?;
            let before = hash_links(journal, before)?;
            Ok(Loaded {
                path: row.path,
                recursive: row.recursive,
                before,
                after,
            })
        })
        .collect()
}

/// Small pre-images kept by hard link (no hash on the action's path) are
/// hashed now, so they compare like copied ones: a path already back at its
/// pre-image is seen as such (an undo killed half-way can be run again).
fn hash_links(journal: &Journal, mut snap: Snapshot) -> Result<Snapshot, UndoError> {
    for state in snap.entries.values_mut() {
        if let EntryState::File {
            size,
            content: content @ Content::Link(_),
            ..
        } = state
            && *size <= journal.settings.max_file_bytes
            && let Content::Link(name) = content
        {
            *content = Content::Hash(journal.objects.hash_link(name, *size)?);
        }
    }
    Ok(snap)
}

fn outcome(entry: &UndoAction, status: EntryStatus) -> EntryOutcome {
    let summary: serde_json::Value =
        serde_json::from_str(&entry.summary).unwrap_or_else(|_| json!(entry.summary));
    EntryOutcome {
        entry: entry.id,
        job_id: entry.job_id,
        class: entry.class.clone(),
        note: summary
            .get("reason")
            .and_then(|r| r.as_str())
            .map(str::to_owned),
        summary: summary.get("what").cloned().unwrap_or(summary),
        status,
        changes: Vec::new(),
        forced_entry: None,
    }
}

/// What is at a target now: everything below it when it is a directory (as
/// after-images are taken), so a change inside it is seen and `--force`
/// keeps all of it.
fn current(journal: &Journal, t: &Loaded) -> Result<Snapshot, UndoError> {
    journal.observe(&t.path, t.recursive || t.path.is_dir())
}

fn same(a: &EntryState, b: &EntryState) -> bool {
    a.differs_from(b).is_none()
}

/// The first path where `now` is neither what leash left (`after`) nor the
/// pre-image: (path, what differs).
fn conflict(t: &Loaded, now: &Snapshot) -> Option<(PathBuf, String)> {
    let keys: BTreeSet<&String> = t
        .before
        .entries
        .keys()
        .chain(now.entries.keys())
        .chain(t.after.iter().flat_map(|a| a.entries.keys()))
        .collect();
    for key in keys {
        let missing = EntryState::Missing;
        let cur = now.entries.get(key).unwrap_or(&missing);
        let before = t.before.entries.get(key).unwrap_or(&missing);
        if same(cur, before) {
            continue;
        }
        let what = match &t.after {
            Some(after) => {
                let left = after.entries.get(key).unwrap_or(&missing);
                match cur.differs_from(left) {
                    None => continue,
                    Some(what) => what,
                }
            }
            None => "the action was interrupted before it finished (it may have run)".to_owned(),
        };
        return Some((entry_path(&t.path, key), what));
    }
    None
}

fn undo_entry(
    journal: &Journal,
    audit: &AuditLog,
    entry: &UndoAction,
    options: &UndoOptions,
    simulated: &mut Vec<(PathBuf, Snapshot)>,
) -> Result<EntryOutcome, UndoError> {
    match entry.state {
        UndoState::Undone => return Ok(outcome(entry, EntryStatus::AlreadyUndone)),
        UndoState::NotStarted | UndoState::Done => {}
    }
    let targets = load(journal, entry)?;
    if targets.is_empty() {
        return Ok(outcome(entry, EntryStatus::NotUndoable));
    }
    let mut result = outcome(entry, EntryStatus::Restored);
    let mut nows = Vec::with_capacity(targets.len());
    let mut conflicts = Vec::new();
    for t in &targets {
        check_safe(&t.path, &options.roots)?;
        let now = match simulated.iter().find(|(p, _)| *p == t.path) {
            Some((_, snap)) if options.dry_run => snap.clone(),
            Some(_) | None => current(journal, t)?,
        };
        if let Some(found) = conflict(t, &now) {
            conflicts.push(found);
        }
        for (key, state) in &t.before.entries {
            let missing = EntryState::Missing;
            let cur = now.entries.get(key).unwrap_or(&missing);
            if state.differs_from(cur).is_some() {
                result.changes.push(PathChange {
                    path: show(&entry_path(&t.path, key)),
                    change: describe(state, cur),
                });
            }
        }
        for key in now
            .entries
            .keys()
            .filter(|k| !t.before.entries.contains_key(*k))
        {
            result.changes.push(PathChange {
                path: show(&entry_path(&t.path, key)),
                change: "remove (created by the action)".to_owned(),
            });
        }
        nows.push(now);
    }
    if entry.state == UndoState::NotStarted && result.changes.is_empty() {
        result.status = EntryStatus::NotStarted;
        result.note = Some("journaled, but the action never changed anything".to_owned());
        return Ok(result);
    }
    if let Some((path, what)) = conflicts.first().cloned() {
        let later = journal.store()?.undo_later_touching(entry.id, &path)?;
        let what = if later.is_empty() {
            what
        } else {
            format!("{what}; later journal entries changed it: {later:?}")
        };
        if options.dry_run {
            result.status = EntryStatus::Conflict;
            result.note = Some(format!("{}: {what}", show(&path)));
            return Ok(result);
        }
        if !options.force {
            audit
                .append(
                    entry.job_id,
                    AuditKind::UndoRefused,
                    json!({"entry": entry.id, "path": path.to_string_lossy(), "what": what}),
                )
                .map_err(UndoError::Audit)?;
            return Err(UndoError::Changed {
                entry: entry.id,
                path,
                what,
            });
        }
    }
    if options.dry_run {
        result.status = EntryStatus::WouldRestore;
        for t in &targets {
            simulated.retain(|(p, _)| *p != t.path);
            simulated.push((t.path.clone(), t.before.clone()));
        }
        return Ok(result);
    }
    // `--force` over a change someone else made: keep what is there now, as
    // an entry of its own, so this undo can be undone too.
    let forced = if conflicts.is_empty() {
        None
    } else {
        Some(journal_current(journal, entry, &targets, &nows)?)
    };
    for (t, now) in targets.iter().zip(&nows) {
        apply(journal, t, now, &options.roots)?;
    }
    if let Some((id, ids)) = &forced {
        let mut after = Vec::new();
        for (tid, t) in ids.iter().zip(&targets) {
            let snap = current(journal, t)?;
            after.push((*tid, serde_json::to_string(&snap)?));
        }
        journal
            .store()?
            .undo_finish(*id, UndoState::Done, &after, None, true)?;
    }
    journal
        .store()?
        .undo_finish(entry.id, UndoState::Undone, &[], None, true)?;
    result.forced_entry = forced.map(|(id, _)| id);
    audit
        .append(
            entry.job_id,
            AuditKind::UndoRestored,
            json!({
                "entry": entry.id,
                "changes": result.changes,
                "forced_entry": result.forced_entry,
            }),
        )
        .map_err(UndoError::Audit)?;
    Ok(result)
}

fn describe(before: &EntryState, now: &EntryState) -> String {
    match (before, now) {
        (EntryState::Missing, _) => "remove (created by the action)".to_owned(),
        (_, EntryState::Missing) => "recreate (removed by the action)".to_owned(),
        (then, now) => match now.differs_from(then) {
            Some(what) => format!("restore ({what})"),
            None => "unchanged".to_owned(),
        },
    }
}

fn journal_current(
    journal: &Journal,
    entry: &UndoAction,
    targets: &[Loaded],
    nows: &[Snapshot],
) -> Result<(i64, Vec<i64>), UndoError> {
    let mut rows = Vec::new();
    for (t, now) in targets.iter().zip(nows) {
        let recursive = t.recursive || now.entries.len() > 1;
        let snap = capture(
            &t.path,
            recursive,
            Capture::Save {
                objects: &journal.objects,
                max_file: journal.settings.max_file_bytes,
                link_ok: false,
                link_any: false,
            },
        )?;
        rows.push(NewUndoTarget {
            path: t.path.clone(),
            recursive,
            before: serde_json::to_string(&snap)?,
        });
    }
    journal.objects.sync()?;
    let id = journal.store()?.undo_begin(
        &NewUndoAction {
            job_id: entry.job_id,
            step: None,
            action: None,
            summary: json!({"what": {"undo_of": entry.id, "forced": true}}).to_string(),
            class: Reversibility::Reversible.as_str().to_owned(),
        },
        &rows,
        true,
    )?;
    Ok(id)
}

/// Refuses a path outside the roots or whose directory resolves elsewhere
/// than it did (a component replaced by a symlink).
fn check_safe(path: &Path, roots: &[PathBuf]) -> Result<(), UndoError> {
    let unsafe_path = |why: String| UndoError::Unsafe {
        path: path.to_path_buf(),
        why,
    };
    if !roots.is_empty() && !roots.iter().any(|r| path.starts_with(r)) {
        return Err(unsafe_path(
            "it is outside the workspace and the write roots".to_owned(),
        ));
    }
    let Some(parent) = path.parent() else {
        return Err(unsafe_path("it has no parent directory".to_owned()));
    };
    match std::fs::canonicalize(parent) {
        Ok(real) if real == parent => Ok(()),
        Ok(real) => Err(unsafe_path(format!(
            "its directory now resolves to {} (a symlink was put in the way)",
            show(&real)
        ))),
        // A missing parent is recreated from the pre-image of a recursive
        // target, itself checked; otherwise nothing is written there.
        Err(_) => Ok(()),
    }
}

/// The suffix of undo's temp names (`.<name>.leash-undo`).
const UNDO_TEMP_SUFFIX: &str = ".leash-undo";

fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or(OsStr::new("x"));
    let mut tmp = b".".to_vec();
    tmp.extend_from_slice(name.as_bytes());
    // A fixed name: a temp left by an undo killed mid-write is replaced
    // (removed first) when the undo is run again.
    tmp.extend_from_slice(UNDO_TEMP_SUFFIX.as_bytes());
    path.with_file_name(OsStr::from_bytes(&tmp))
}

fn remove_entry(path: &Path, state: &EntryState) -> Result<(), UndoError> {
    let result = match state {
        EntryState::Dir { .. } => std::fs::remove_dir(path),
        EntryState::Missing => return Ok(()),
        EntryState::File { .. } | EntryState::Symlink { .. } | EntryState::Other { .. } => {
            std::fs::remove_file(path)
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(UndoError::Io {
            what: "cannot remove",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn mtime(s: i64, ns: i64) -> SystemTime {
    let nanos = u32::try_from(ns).unwrap_or(0);
    if s >= 0 {
        SystemTime::UNIX_EPOCH + Duration::new(s.unsigned_abs(), nanos)
    } else {
        SystemTime::UNIX_EPOCH - Duration::new(s.unsigned_abs(), 0) + Duration::new(0, nanos)
    }
}

/// Puts one target back to its pre-image.
fn apply(
    journal: &Journal,
    t: &Loaded,
    now: &Snapshot,
    roots: &[PathBuf],
) -> Result<(), UndoError> {
    let missing = EntryState::Missing;
    // Remove, deepest first: what the action created, and whatever stands
    // where the pre-image had something of another kind.
    let mut removals: Vec<(&String, &EntryState)> = now
        .entries
        .iter()
        .filter(|(key, cur)| {
            let before = t.before.entries.get(*key).unwrap_or(&missing);
            std::mem::discriminant(*cur) != std::mem::discriminant(before)
                || matches!(before, EntryState::Symlink { .. }) && !same(cur, before)
        })
        .collect();
    removals.sort_by(|a, b| b.0.cmp(a.0));
    for (key, cur) in removals {
        let path = entry_path(&t.path, key);
        check_safe(&path, roots)?;
        remove_entry(&path, cur)?;
    }
    // Restore, parents first.
    let mut touched_dirs = BTreeSet::new();
    for (key, before) in &t.before.entries {
        let path = entry_path(&t.path, key);
        let cur = now.entries.get(key).unwrap_or(&missing);
        let kind_changed = std::mem::discriminant(cur) != std::mem::discriminant(before);
        if !kind_changed && same(cur, before) {
            continue;
        }
        check_safe(&path, roots)?;
        match before {
            EntryState::Missing => {}
            EntryState::Dir { mode, .. } => {
                if kind_changed {
                    std::fs::create_dir(&path).map_err(UndoError::io("cannot recreate", &path))?;
                }
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
                    .map_err(UndoError::io("cannot restore the mode of", &path))?;
            }
            EntryState::File {
                mode,
                mtime_s,
                mtime_ns,
                content,
                ..
            } => {
                let times = FileTimes::new().set_modified(mtime(*mtime_s, *mtime_ns));
                let same_bytes = matches!(
                    (cur, content),
                    (EntryState::File { content: Content::Hash(a), .. }, Content::Hash(b)) if a == b
                );
                if same_bytes {
                    // Only metadata changed (`touch`, `chmod`): fix it in place.
                    let file = OpenOptions::new()
                        .read(true)
                        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                        .open(&path)
                        .map_err(UndoError::io("cannot open", &path))?;
                    file.set_permissions(std::fs::Permissions::from_mode(*mode))
                        .and_then(|()| file.set_times(times))
                        .map_err(UndoError::io("cannot restore the metadata of", &path))?;
                } else {
                    let name = match content {
                        Content::Hash(h) | Content::Link(h) => h,
                        Content::Stat(_) => {
                            return Err(UndoError::Unsafe {
                                path,
                                why: "its pre-image holds no content".to_owned(),
                            });
                        }
                    };
                    restore_file(journal, name, &path, *mode, times)?;
                }
            }
            EntryState::Symlink { target } => {
                let bytes = hex::decode(target).unwrap_or_default();
                let tmp = temp_beside(&path);
                let _ = std::fs::remove_file(&tmp);
                std::os::unix::fs::symlink(OsStr::from_bytes(&bytes), &tmp)
                    .map_err(UndoError::io("cannot recreate the symlink", &path))?;
                std::fs::rename(&tmp, &path)
                    .map_err(UndoError::io("cannot recreate the symlink", &path))?;
            }
            EntryState::Other { .. } => {
                tracing::warn!(path = %path.display(), "a special file is not restored");
            }
        }
        if let Some(parent) = path.parent() {
            touched_dirs.insert(parent.to_path_buf());
        }
    }
    // Restoring entries changed the times of the directories holding them,
    // and a recreated directory has a new one: put back what the pre-image
    // saw, once every entry below is back. Setting a directory's time does
    // not change its parent's, so the order does not matter.
    for (key, before) in &t.before.entries {
        let EntryState::Dir {
            mtime: Some((s, ns)),
            ..
        } = before
        else {
            continue;
        };
        let path = entry_path(&t.path, key);
        let left_alone = match now.entries.get(key) {
            Some(EntryState::Dir {
                mtime: Some(then), ..
            }) => then == &(*s, *ns) && !touched_dirs.contains(&path),
            Some(_) | None => false,
        };
        if left_alone {
            continue;
        }
        check_safe(&path, roots)?;
        set_dir_mtime(&path, mtime(*s, *ns))?;
        touched_dirs.insert(path);
    }
    // Recreating, replacing or removing the target changed its directory's
    // modification time: put back the one the pre-image saw.
    if let (Some(parent), Some((s, ns))) = (t.path.parent(), t.before.parent_mtime)
        && touched_dirs.contains(parent)
    {
        set_dir_mtime(parent, mtime(s, ns))?;
    }
    for dir in touched_dirs {
        if dir.is_dir() {
            sync_dir(&dir)?;
        }
    }
    Ok(())
}

/// Sets a directory's modification time without following a symlink there.
fn set_dir_mtime(dir: &Path, when: SystemTime) -> Result<(), UndoError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)
        .map_err(UndoError::io("cannot open the directory", dir))?;
    file.set_times(FileTimes::new().set_modified(when))
        .map_err(UndoError::io(
            "cannot restore the modification time of",
            dir,
        ))
}

/// Writes a pre-image beside `path` and renames it over `path` with the
/// shared atomic writer: a symlink or hard link at `path` is replaced, never
/// written through, and a name planted at the temp name is removed first.
fn restore_file(
    journal: &Journal,
    object: &str,
    path: &Path,
    mode: u32,
    times: FileTimes,
) -> Result<(), UndoError> {
    let mut src = journal.objects.open_object(object)?;
    // A fixed temp name (the one symlinks are recreated through too): an
    // undo killed mid-write leaves it, and running the undo again removes it.
    let options = leash_atomic_file::Options::default().stable_temp_name(UNDO_TEMP_SUFFIX);
    leash_atomic_file::write_with(path, options, |out| {
        std::io::copy(&mut src, out)?;
        out.set_permissions(std::fs::Permissions::from_mode(mode))?;
        out.set_times(times)
    })
    .map_err(|err| UndoError::Io {
        what: "cannot restore",
        path: err.path,
        source: err.source,
    })
}
