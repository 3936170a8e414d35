//! The file watcher: one task for every watched directory, woken by inotify
//! events (through `notify`) or, for directories in poll mode (FUSE storage
//! such as `/sdcard`, where other apps' writes often produce no events), by a
//! timer every `poll_interval_s`. When nothing is settling and nothing is due,
//! the task sleeps until an event or the stop signal: an idle daemon uses no
//! CPU here.
//!
//! A ready file (see `readiness.rs`) is claimed into `.leash/processing/`
//! and admitted through [`DaemonContext::admit`] (see [`admit_file`] for the
//! order). A file that cannot be admitted (unreadable, a duplicate
//! of a pending job) is remembered with its identity and left alone until it
//! changes, so poll mode does not retry it every interval.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use leash_store::Admission;
use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::context::DaemonContext;
use crate::error::DaemonError;
use crate::intake::rename_no_clobber;
use crate::triggers::file_claim::claim_target;
use crate::triggers::file_rules::{FilePlan, FileRule, PROCESSING_DIR, WatchedDir};
use crate::triggers::file_trigger::file_event;
use crate::triggers::leash_tree::leash_stage_dir;
use crate::triggers::readiness::{FileIdentity, SettlingFiles, is_open_for_writing};

/// How one ready file fared.
#[derive(Debug)]
enum FileAdmission {
    Queued,
    /// A pending job already has this file identity; the file stays.
    Duplicate,
    /// The file disappeared (someone else took it).
    Gone,
    /// The file changed while it was being admitted: look again later.
    Changed,
    /// The daemon is stopping; the file stays for the next start.
    Stopping,
    /// Could not be admitted (logged); left alone until it changes.
    Refused,
}

/// Admits one ready file (blocking: claims and reads the file, commits the
/// job).
///
/// Claim first, then read: the file is renamed into `.leash/processing/`
/// before its content is read, so the payload is always the content of the
/// file the job owns. (Reading first let a rename over the file in between
/// pair one file's content with another file's claim.) A crash between the
/// rename and the commit leaves a job-less file in `processing/`, which
/// start-up recovery admits — the state a crash inside the admission
/// transaction leaves too. When the file is not admitted after all, it is
/// put back where it was.
fn admit_file(
    ctx: &DaemonContext,
    plan: &FilePlan,
    watched: &WatchedDir,
    rule: &FileRule,
    path: &Path,
    ready: FileIdentity,
) -> FileAdmission {
    let Some(name) = path.file_name() else {
        return FileAdmission::Refused;
    };
    let processing = match leash_stage_dir(&watched.dir, PROCESSING_DIR, true) {
        Ok(Some(dir)) => dir,
        Ok(None) => return FileAdmission::Refused,
        Err(problem) => {
            tracing::error!(dir = ?watched.dir, %problem, "watched directory's .leash is unsafe; its trigger files are left alone");
            return FileAdmission::Refused;
        }
    };
    let claimed = claim_target(&processing, name);
    if let Err(err) = rename_no_clobber(path, &claimed) {
        return match err.kind() {
            std::io::ErrorKind::NotFound => FileAdmission::Gone,
            std::io::ErrorKind::AlreadyExists => FileAdmission::Changed,
            _ => {
                tracing::warn!(path = ?path, error = %err, "trigger file cannot be claimed; left in place");
                FileAdmission::Refused
            }
        };
    }
    // What was claimed is what is at the path now: it may have been replaced
    // since it became ready. A plain file nobody is writing is complete.
    let Some(identity) = FileIdentity::of_regular_file(&claimed) else {
        put_back(&claimed, path);
        return FileAdmission::Changed;
    };
    if is_open_for_writing(&claimed) {
        put_back(&claimed, path);
        return FileAdmission::Changed;
    }
    if identity != ready {
        tracing::debug!(path = ?path, "trigger file was replaced after it became ready; admitting the replacement");
    }
    let event = match file_event(plan, rule, path, &claimed, identity) {
        Ok(event) => event,
        Err(err) => {
            put_back(&claimed, path);
            return match err.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData => {
                    FileAdmission::Changed
                }
                _ => {
                    tracing::warn!(path = ?path, error = %err, "trigger file cannot be read; left in place");
                    FileAdmission::Refused
                }
            };
        }
    };
    match ctx.admit(event) {
        Ok(Admission::Queued(job)) => {
            tracing::info!(job = job.id, trigger = %rule.name, path = ?path, "trigger file queued");
            FileAdmission::Queued
        }
        Ok(Admission::Duplicate(job)) => {
            put_back(&claimed, path);
            tracing::info!(job = job.id, path = ?path, "trigger file is a duplicate of a pending job; left in place");
            FileAdmission::Duplicate
        }
        Err(DaemonError::ShuttingDown) => {
            put_back(&claimed, path);
            FileAdmission::Stopping
        }
        Err(err) => {
            put_back(&claimed, path);
            tracing::warn!(path = ?path, error = %err, "trigger file could not be queued; left in place");
            FileAdmission::Refused
        }
    }
}

/// Returns a claimed file that was not admitted to where it came from. If
/// that name is taken again, it stays in `processing/`, where start-up
/// recovery admits it (it is never lost).
fn put_back(claimed: &Path, original: &Path) {
    if let Err(err) = rename_no_clobber(claimed, original) {
        tracing::warn!(path = ?claimed, to = ?original, error = %err, "claimed file could not be put back; start-up recovery will admit it");
    }
}

/// Start-up: admits the ready files that arrived while the daemon was down
/// (matching names, regular files, stable for `monitoring.settle_ms`: files
/// still being written are left to the watcher). Returns how many were queued.
pub fn pick_up_existing(ctx: &Arc<DaemonContext>) -> Result<usize, DaemonError> {
    let plan = FilePlan::from_config(&ctx.loaded.config)?;
    let mut dirs: Vec<(WatchedDir, SettlingFiles)> = plan
        .dirs
        .iter()
        .map(|watched| {
            let mut settling = SettlingFiles::default();
            scan_dir(watched, &mut settling, &HashMap::new());
            (watched.clone(), settling)
        })
        .collect();
    let mut ready: Vec<(usize, PathBuf, FileIdentity)> = Vec::new();
    for round in 0..2 {
        if round == 1 {
            if dirs.iter().all(|(_, settling)| settling.is_empty()) {
                break;
            }
            std::thread::sleep(plan.settle);
        }
        for (index, (_, settling)) in dirs.iter_mut().enumerate() {
            ready.extend(
                settling
                    .take_ready(plan.settle)
                    .into_iter()
                    .map(|(path, identity)| (index, path, identity)),
            );
        }
    }
    let mut queued = 0;
    for (index, path, identity) in ready {
        let Some((watched, _)) = dirs.get(index) else {
            continue;
        };
        let Some(rule) = path.file_name().and_then(|name| watched.rule_for(name)) else {
            continue;
        };
        match admit_file(ctx, &plan, watched, rule, &path, identity) {
            FileAdmission::Queued => queued += 1,
            FileAdmission::Stopping => return Err(DaemonError::ShuttingDown),
            FileAdmission::Duplicate
            | FileAdmission::Gone
            | FileAdmission::Changed
            | FileAdmission::Refused => {}
        }
    }
    if queued > 0 {
        tracing::info!(
            queued,
            "trigger files that arrived while the daemon was down were queued"
        );
    }
    Ok(queued)
}

/// Puts every matching regular file of `watched` into `settling` (except
/// those remembered in `skipped` with an unchanged identity).
fn scan_dir(
    watched: &WatchedDir,
    settling: &mut SettlingFiles,
    skipped: &HashMap<PathBuf, FileIdentity>,
) {
    let entries = match std::fs::read_dir(&watched.dir) {
        Ok(entries) => entries,
        Err(err) => {
            tracing::warn!(dir = ?watched.dir, error = %err, "cannot list watched directory");
            return;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if watched.rule_for(&name).is_none() {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        if let Some(seen) = skipped.get(&path)
            && FileIdentity::of_regular_file(&path) == Some(*seen)
        {
            continue;
        }
        settling.touched(path);
    }
}

/// One watched directory's state in the watcher task.
#[derive(Debug)]
struct DirState {
    watched: WatchedDir,
    settling: SettlingFiles,
    /// Poll mode: when to list the directory next.
    next_poll: Option<Instant>,
    /// Files left alone until their identity changes.
    skipped: HashMap<PathBuf, FileIdentity>,
}

/// The running file watcher: the `notify` watcher (kept alive here) and the
/// event channel.
pub(crate) struct FileWatch {
    plan: Arc<FilePlan>,
    watcher: Option<notify::RecommendedWatcher>,
    events: mpsc::UnboundedReceiver<notify::Result<Event>>,
}

impl FileWatch {
    /// Sets up inotify watches on every directory not in poll mode. Done before
    /// the task starts (and before its first scan), so no file can arrive
    /// unseen between the scan and the watch; errors are reported at start.
    pub(crate) fn new(plan: FilePlan) -> Result<FileWatch, DaemonError> {
        let (tx, events) = mpsc::unbounded_channel();
        let event_dirs: Vec<&WatchedDir> = plan.dirs.iter().filter(|d| d.poll.is_none()).collect();
        let watcher = if event_dirs.is_empty() {
            None
        } else {
            let mut watcher = notify::recommended_watcher(move |event| {
                let _ = tx.send(event);
            })
            .map_err(|err| DaemonError::Trigger {
                name: event_dirs
                    .first()
                    .and_then(|d| d.rules.first())
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
                problem: format!("cannot start the file-system watcher: {err}"),
            })?;
            for watched in &event_dirs {
                watcher
                    .watch(&watched.dir, RecursiveMode::NonRecursive)
                    .map_err(|err| DaemonError::Trigger {
                        name: watched
                            .rules
                            .first()
                            .map(|r| r.name.clone())
                            .unwrap_or_default(),
                        problem: format!("cannot watch {}: {err}", watched.dir.display()),
                    })?;
            }
            Some(watcher)
        };
        Ok(FileWatch {
            plan: Arc::new(plan),
            watcher,
            events,
        })
    }

    /// Runs the watcher on `rt` until the daemon stops.
    pub(crate) fn spawn(
        self,
        ctx: Arc<DaemonContext>,
        rt: &tokio::runtime::Handle,
    ) -> JoinHandle<()> {
        rt.spawn(self.run(ctx))
    }

    async fn run(mut self, ctx: Arc<DaemonContext>) {
        let now = Instant::now();
        let mut dirs: Vec<DirState> = self
            .plan
            .dirs
            .iter()
            .map(|watched| DirState {
                watched: watched.clone(),
                settling: SettlingFiles::default(),
                next_poll: watched.poll.map(|_| now),
                skipped: HashMap::new(),
            })
            .collect();
        for dir in &mut dirs {
            scan_dir(&dir.watched, &mut dir.settling, &dir.skipped);
        }
        let mut events_open = self.watcher.is_some();
        let settle = self.plan.settle;
        tracing::info!(dirs = dirs.len(), "file triggers watching");
        loop {
            if !self.admit_ready(&ctx, &mut dirs).await || ctx.is_stopping() {
                break;
            }
            let deadline = dirs
                .iter()
                .flat_map(|d| [d.settling.next_check(settle), d.next_poll])
                .flatten()
                .min();
            tokio::select! {
                () = ctx.stopped() => break,
                event = self.events.recv(), if events_open => match event {
                    Some(event) => {
                        handle_event(event, &mut dirs);
                        while let Ok(event) = self.events.try_recv() {
                            handle_event(event, &mut dirs);
                        }
                    }
                    None => {
                        tracing::warn!("file-system watcher stopped; directories in event mode are no longer watched");
                        events_open = false;
                    }
                },
                () = sleep_until(deadline), if deadline.is_some() => {}
            }
            let now = Instant::now();
            for dir in &mut dirs {
                if let (Some(due), Some(every)) = (dir.next_poll, dir.watched.poll)
                    && due <= now
                {
                    scan_dir(&dir.watched, &mut dir.settling, &dir.skipped);
                    dir.next_poll = Some(now + every);
                }
            }
        }
        drop(self.watcher.take());
        tracing::info!("file triggers stopped");
    }

    /// Admits every ready file. `false` when the daemon is stopping.
    async fn admit_ready(&self, ctx: &Arc<DaemonContext>, dirs: &mut [DirState]) -> bool {
        for dir in dirs.iter_mut() {
            for (path, identity) in dir.settling.take_ready(self.plan.settle) {
                if dir.skipped.get(&path) == Some(&identity) {
                    continue;
                }
                let Some(rule) = path
                    .file_name()
                    .and_then(|name| dir.watched.rule_for(name))
                    .cloned()
                else {
                    continue;
                };
                let (ctx, plan, watched) =
                    (Arc::clone(ctx), Arc::clone(&self.plan), dir.watched.clone());
                let task_path = path.clone();
                let outcome = tokio::task::spawn_blocking(move || {
                    admit_file(&ctx, &plan, &watched, &rule, &task_path, identity)
                })
                .await;
                match outcome {
                    Ok(FileAdmission::Queued | FileAdmission::Gone) => {
                        dir.skipped.remove(&path);
                    }
                    Ok(FileAdmission::Changed) => dir.settling.touched(path),
                    Ok(FileAdmission::Duplicate | FileAdmission::Refused) => {
                        dir.skipped.insert(path, identity);
                    }
                    Ok(FileAdmission::Stopping) => return false,
                    Err(err) => {
                        tracing::error!(path = ?path, error = %err, "admitting a trigger file panicked");
                        dir.skipped.insert(path, identity);
                    }
                }
            }
        }
        true
    }
}

/// Sleeps until `deadline` (forever when `None`; the caller guards that arm).
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await,
        None => std::future::pending().await,
    }
}

/// Feeds one `notify` event into the settling sets of the directories.
fn handle_event(event: notify::Result<Event>, dirs: &mut [DirState]) {
    let event = match event {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(error = %err, "file-system watcher error; rescanning");
            rescan(dirs);
            return;
        }
    };
    if event.need_rescan() {
        tracing::warn!("file-system events were lost (queue overflow); rescanning");
        rescan(dirs);
        return;
    }
    let mut paths = event.paths.into_iter();
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write))
        | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
            paths.for_each(|p| route(dirs, p, Signal::WriterDone));
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            if let Some(from) = paths.next() {
                route(dirs, from, Signal::Gone);
            }
            paths.for_each(|p| route(dirs, p, Signal::WriterDone));
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
            paths.for_each(|p| route(dirs, p, Signal::Gone));
        }
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Any | EventKind::Other => {
            paths.for_each(|p| route(dirs, p, Signal::Touched));
        }
        EventKind::Access(_) => {}
    }
}

/// What an event says about one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Touched,
    WriterDone,
    Gone,
}

fn route(dirs: &mut [DirState], path: PathBuf, signal: Signal) {
    let Some(dir) = path
        .parent()
        .and_then(|parent| dirs.iter_mut().find(|d| d.watched.dir == parent))
    else {
        return;
    };
    if path
        .file_name()
        .and_then(|name| dir.watched.rule_for(name))
        .is_none()
    {
        return;
    }
    match signal {
        Signal::Touched => dir.settling.touched(path),
        Signal::WriterDone => dir.settling.writer_done(path),
        Signal::Gone => {
            dir.skipped.remove(&path);
            dir.settling.forget(&path);
        }
    }
}

fn rescan(dirs: &mut [DirState]) {
    for dir in dirs.iter_mut().filter(|d| d.watched.poll.is_none()) {
        scan_dir(&dir.watched, &mut dir.settling, &dir.skipped);
    }
}
