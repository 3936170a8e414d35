//! A trigger file's life in `<dir>/.leash/`: claimed into `processing/` (the
//! rename happens inside the admission transaction, see `intake.rs`), then
//! moved to `done/` or `failed/` with `<name>.result.json` beside it when its
//! job ends, and put right at start-up after a crash ([`recover_claims`]).
//!
//! Nothing is ever overwritten: a name that is taken gets a suffix —
//! `report-1.task` when claiming, `report.job-42.task` (the job id) when
//! finishing.
//!
//! Finishing renames first and records the new path with the job second: a
//! crash in between leaves a finished file whose job still points into
//! `processing/`, which the next [`finish_claimed_file`] finds by name (the
//! only names it can have) and adopts. The other order would leave a file in
//! `processing/` that no job points at, and start-up recovery would run it a
//! second time.

use leash_store::AuditKind;
use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use leash_store::{Admission, Job, JobState};
use serde_json::json;

use crate::context::DaemonContext;
use crate::error::{DaemonError, io_error};
use crate::intake::rename_no_clobber;
use crate::triggers::claim_name::claim_name;
use crate::triggers::file_rules::{
    DONE_DIR, FAILED_DIR, FilePlan, LEASH_DIR, PROCESSING_DIR, RESULT_SUFFIX,
};
use crate::triggers::file_rules::{FileRule, WatchedDir};
use crate::triggers::file_trigger::file_event;
use crate::triggers::leash_tree::leash_stage_dir;
use crate::triggers::readiness::FileIdentity;

/// What [`recover_claims`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimRecovery {
    /// Claimed files that had no job (the daemon died between the rename and
    /// the commit): admitted as new jobs.
    pub readmitted: usize,
    /// Claimed files whose job had ended: moved to `done/` or `failed/`.
    pub finished: usize,
    /// Claimed files whose job is still queued or running: left for the worker.
    pub pending: usize,
}

/// Where a trigger file is, relative to its watched directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClaimStage {
    Processing,
    Done,
    Failed,
}

/// `<watch dir>/.leash/<stage>/<name>` → (watch dir, stage, name).
fn claim_location(path: &Path) -> Option<(PathBuf, ClaimStage, OsString)> {
    let name = path.file_name()?.to_owned();
    let stage_dir = path.parent()?;
    let leash_dir = stage_dir.parent()?;
    if leash_dir.file_name() != Some(OsStr::new(LEASH_DIR)) {
        return None;
    }
    let stage = match stage_dir.file_name()?.to_str()? {
        PROCESSING_DIR => ClaimStage::Processing,
        DONE_DIR => ClaimStage::Done,
        FAILED_DIR => ClaimStage::Failed,
        _ => return None,
    };
    Some((leash_dir.parent()?.to_path_buf(), stage, name))
}

/// `name` with `insert` placed before its extension (`a.task` + `-1` →
/// `a-1.task`; `a` + `-1` → `a-1`).
fn with_infix(name: &OsStr, insert: &str) -> OsString {
    let path = Path::new(name);
    match (path.file_stem(), path.extension()) {
        (Some(stem), Some(ext)) => {
            let mut out = stem.to_owned();
            out.push(insert);
            out.push(".");
            out.push(ext);
            out
        }
        (Some(_) | None, None) | (None, Some(_)) => {
            let mut out = name.to_owned();
            out.push(insert);
            out
        }
    }
}

/// Whether neither `path` nor its result file exists (a symlink counts).
fn is_free(path: &Path) -> bool {
    path.symlink_metadata().is_err() && result_file_of(path).symlink_metadata().is_err()
}

/// Where a file named `name` is claimed to: `processing/<name>` (the name
/// made storable by [`claim_name`]), or with `-1`, `-2`, … when that is taken.
pub(crate) fn claim_target(processing_dir: &Path, name: &OsStr) -> PathBuf {
    let name = &claim_name(name);
    let first = processing_dir.join(name);
    if first.symlink_metadata().is_err() {
        return first;
    }
    (1..u32::MAX)
        .map(|n| processing_dir.join(with_infix(name, &format!("-{n}"))))
        .find(|candidate| candidate.symlink_metadata().is_err())
        .unwrap_or(first)
}

/// Where a finished file named `name` (job `job_id`) goes in `stage_dir`.
fn finish_target(stage_dir: &Path, name: &OsStr, job_id: i64) -> PathBuf {
    let first = stage_dir.join(name);
    if is_free(&first) {
        return first;
    }
    let tagged = stage_dir.join(with_infix(name, &format!(".job-{job_id}")));
    if is_free(&tagged) {
        return tagged;
    }
    (2..u32::MAX)
        .map(|n| stage_dir.join(with_infix(name, &format!(".job-{job_id}-{n}"))))
        .find(|candidate| is_free(candidate))
        .unwrap_or(tagged)
}

/// `<file>.result.json`.
fn result_file_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(RESULT_SUFFIX);
    PathBuf::from(name)
}

/// Called by the worker when a file job ends (and by [`recover_claims`]):
/// moves the job's trigger file from `.leash/processing/` to `.leash/done/`
/// (`succeeded`) or `.leash/failed/`, writes `<name>.result.json` beside it
/// (temp file + rename), records the new path with the job and audits
/// `trigger.file_finished`. Returns where the file is now; `None` when the job
/// has no trigger file or it has vanished (logged).
///
/// Idempotent: called again for a job whose file already moved, it only makes
/// sure the result file is there; called after a crash between its steps, it
/// completes the move it had started.
pub fn finish_claimed_file(
    ctx: &DaemonContext,
    job: &Job,
    succeeded: bool,
    result: &serde_json::Value,
) -> Result<Option<PathBuf>, DaemonError> {
    // The caller's copy may be stale (a finish already happened): the store's wins.
    let fresh = ctx.with_store(|s| s.job(job.id))?;
    let job = fresh.as_ref().unwrap_or(job);
    let Some(recorded) = job.file_path.as_deref().map(PathBuf::from) else {
        return Ok(None);
    };
    let Some((watch_dir, stage, name)) = claim_location(&recorded) else {
        tracing::warn!(job = job.id, path = ?recorded, "job's trigger file is not in a .leash directory; not moving it");
        return Ok(None);
    };
    // Names recorded before claimed names were bounded may be too long for
    // the suffixes below: finished names are bounded the same way.
    let name = claim_name(&name);
    // A planted symlink anywhere in the tree is never followed: the file
    // stays where it is (logged), and the worker carries on.
    let target_stage = if succeeded { DONE_DIR } else { FAILED_DIR };
    let recorded_stage = match stage {
        ClaimStage::Processing => PROCESSING_DIR,
        ClaimStage::Done => DONE_DIR,
        ClaimStage::Failed => FAILED_DIR,
    };
    let stage_dir = match leash_stage_dir(&watch_dir, recorded_stage, false)
        .and_then(|_| leash_stage_dir(&watch_dir, target_stage, stage == ClaimStage::Processing))
    {
        Ok(dir) => dir,
        Err(problem) => {
            tracing::error!(job = job.id, %problem, "trigger file not finished: its .leash directory is unsafe");
            return Ok(None);
        }
    };
    let (source, target) = match stage {
        ClaimStage::Processing if recorded.symlink_metadata().is_ok() => {
            let Some(stage_dir) = stage_dir else {
                return Ok(None);
            };
            let target = finish_target(&stage_dir, &name, job.id);
            rename_no_clobber(&recorded, &target)
                .map_err(io_error("move finished trigger file", &recorded))?;
            (Some(recorded), target)
        }
        ClaimStage::Processing => match interrupted_finish(&watch_dir, &name, job.id) {
            Some(target) => (Some(recorded), target),
            None => {
                tracing::warn!(job = job.id, path = ?recorded, "claimed trigger file has vanished");
                return Ok(None);
            }
        },
        ClaimStage::Done | ClaimStage::Failed => {
            if recorded.symlink_metadata().is_err() {
                tracing::warn!(job = job.id, path = ?recorded, "finished trigger file has vanished");
                return Ok(None);
            }
            (None, recorded)
        }
    };
    let moved_now = source.is_some();
    if moved_now {
        let target_text = target.display().to_string();
        ctx.with_store(|store| store.set_job_file_path(job.id, &target_text))?;
    }
    let result_file = result_file_of(&target);
    if moved_now || result_file.symlink_metadata().is_err() {
        write_result_file(&result_file, job, succeeded, &target, result)?;
    }
    if moved_now {
        ctx.audit.append(
            Some(job.id),
            AuditKind::TriggerFileFinished,
            json!({
                "from": source.as_ref().map(|p| p.display().to_string()),
                "to": target.display().to_string(),
                "result_file": result_file.display().to_string(),
                "succeeded": succeeded,
            }),
        )?;
        tracing::info!(job = job.id, to = ?target, succeeded, "trigger file finished");
    }
    Ok(Some(target))
}

/// A previous call that died between its rename and recording the new path
/// left the file at one of the names [`finish_target`] gives (`done/` or
/// `failed/`, plain or tagged with this job's id) without a result file.
fn interrupted_finish(watch_dir: &Path, name: &OsStr, job_id: i64) -> Option<PathBuf> {
    let tagged = with_infix(name, &format!(".job-{job_id}"));
    [DONE_DIR, FAILED_DIR]
        .iter()
        .flat_map(|stage| {
            let dir = watch_dir.join(LEASH_DIR).join(stage);
            [dir.join(name), dir.join(&tagged)]
        })
        .find(|candidate| {
            candidate.symlink_metadata().is_ok()
                && result_file_of(candidate).symlink_metadata().is_err()
        })
}

/// Writes the result file atomically: a dot-named temp file in the same
/// directory, fsync, rename, fsync of the directory.
fn write_result_file(
    path: &Path,
    job: &Job,
    succeeded: bool,
    file: &Path,
    result: &serde_json::Value,
) -> Result<(), DaemonError> {
    let doc = json!({
        "job_id": job.id,
        "trigger": job.trigger_name,
        "succeeded": succeeded,
        "state": job.state.as_str(),
        "file": file.display().to_string(),
        "finished_at": jiff::Timestamp::now().to_string(),
        "result": result,
    });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| doc.to_string());
    // The shared writer removes whatever is planted at its predictable temp
    // name and creates it exclusively, so a planted symlink is never written
    // through. 0644: the result sits beside the user's own files.
    let options = leash_atomic_file::Options::default().mode(0o644);
    leash_atomic_file::write_with(path, options, |file| {
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")
    })?;
    Ok(())
}

/// Start-up recovery of claimed files, for every watched directory: a file in
/// `.leash/processing/` with no job is admitted as a new job (already
/// claimed) when its name is one the directory's rules admit (see
/// `recovery_rule`); one whose job has ended — done, failed, cancelled, or interrupted
/// and not re-queued — is finished as its job ended. Run it after the store's
/// own recovery (which re-queues interrupted jobs).
pub fn recover_claims(ctx: &std::sync::Arc<DaemonContext>) -> Result<ClaimRecovery, DaemonError> {
    let plan = FilePlan::from_config(&ctx.loaded.config)?;
    let mut recovery = ClaimRecovery::default();
    for watched in &plan.dirs {
        let processing = match leash_stage_dir(&watched.dir, PROCESSING_DIR, false) {
            Ok(Some(dir)) => dir,
            Ok(None) => continue,
            Err(problem) => {
                tracing::error!(dir = ?watched.dir, %problem, "claimed files not recovered: the .leash directory is unsafe");
                continue;
            }
        };
        let entries = match std::fs::read_dir(&processing) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(io_error("list claimed files in", &processing)(err)),
        };
        for entry in entries {
            let entry = entry.map_err(io_error("list claimed files in", &processing))?;
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let Some(identity) = FileIdentity::of_regular_file(&path) else {
                continue;
            };
            let key = path.display().to_string();
            let job = ctx.with_store(|store| store.job_by_file_path(&key))?;
            match job {
                None => {
                    let Some(rule) = recovery_rule(watched, &name) else {
                        tracing::warn!(path = ?path, "file in processing/ without a job matches no trigger of its directory; left alone");
                        continue;
                    };
                    let event = match file_event(&plan, rule, &path, &path, identity) {
                        Ok(event) => event,
                        // One unreadable file must not stop the daemon from starting.
                        Err(err) => {
                            tracing::warn!(path = ?path, error = %err, "claimed file without a job cannot be read; left alone");
                            continue;
                        }
                    };
                    match ctx.admit(event)? {
                        Admission::Queued(job) => {
                            tracing::info!(job = job.id, path = ?path, "claimed file without a job re-admitted");
                            recovery.readmitted += 1;
                        }
                        Admission::Duplicate(job) => {
                            tracing::warn!(job = job.id, path = ?path, "claimed file without a job matches a pending job; left in place");
                            recovery.pending += 1;
                        }
                    }
                }
                Some(job) => {
                    let succeeded = match job.state {
                        JobState::Done => Some(true),
                        JobState::Failed | JobState::Cancelled | JobState::Interrupted => {
                            Some(false)
                        }
                        JobState::Queued | JobState::Running | JobState::WaitingApproval => None,
                    };
                    match succeeded {
                        Some(succeeded) => {
                            let result = job.result.clone().unwrap_or_else(|| json!({}));
                            finish_claimed_file(ctx, &job, succeeded, &result)?;
                            recovery.finished += 1;
                        }
                        None => recovery.pending += 1,
                    }
                }
            }
        }
    }
    for watched in &plan.dirs {
        for stage in [DONE_DIR, FAILED_DIR] {
            match leash_stage_dir(&watched.dir, stage, false) {
                Ok(Some(dir)) => recovery.finished += complete_result_files(ctx, &dir)?,
                Ok(None) => {}
                Err(problem) => {
                    tracing::error!(dir = ?watched.dir, %problem, "finished files not recovered: the .leash directory is unsafe");
                }
            }
        }
    }
    if recovery != ClaimRecovery::default() {
        tracing::info!(?recovery, "claimed trigger files recovered");
    }
    Ok(recovery)
}

/// The rule a job-less file in `processing/` is admitted under: the rule its
/// name fires, or the one its name fires without the claim suffix `-N`
/// (`report-2.task` → `report.task`). A file that no rule would have admitted
/// from the watched directory is not admitted from `processing/` either —
/// it is content under the watched directory, trusted no more than a
/// trigger file, and never a way around the patterns or the ignore rules.
fn recovery_rule<'w>(watched: &'w WatchedDir, name: &OsStr) -> Option<&'w FileRule> {
    watched.rule_for(name).or_else(|| {
        let path = Path::new(name);
        let stem = path.file_stem()?.to_str()?;
        let (base, number) = stem.rsplit_once('-')?;
        if base.is_empty() || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut original = OsString::from(base);
        if let Some(ext) = path.extension() {
            original.push(".");
            original.push(ext);
        }
        watched.rule_for(&original)
    })
}

/// In a `done/` or `failed/` directory after a crash: removes result files a
/// dead daemon was half-way through writing (dot-named temp files), and
/// writes the result file of every finished trigger file that lacks one.
/// Returns how many result files it wrote.
fn complete_result_files(ctx: &DaemonContext, dir: &Path) -> Result<usize, DaemonError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(io_error("list finished files in", dir)(err)),
    };
    let mut written = 0;
    for entry in entries {
        let entry = entry.map_err(io_error("list finished files in", dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            if name.contains(&format!("{RESULT_SUFFIX}.tmp-")) {
                std::fs::remove_file(&path).map_err(io_error("remove stale temp file", &path))?;
                tracing::info!(path = ?path, "removed a half-written result file");
            }
            continue;
        }
        if name.ends_with(RESULT_SUFFIX) || result_file_of(&path).symlink_metadata().is_ok() {
            continue;
        }
        let key = path.display().to_string();
        let Some(job) = ctx.with_store(|store| store.job_by_file_path(&key))? else {
            continue;
        };
        if !job.state.is_final() && job.state != JobState::Interrupted {
            continue;
        }
        let succeeded = job.state == JobState::Done;
        let result = job.result.clone().unwrap_or_else(|| json!({}));
        if finish_claimed_file(ctx, &job, succeeded, &result)?.is_some() {
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::with_extension("a.task", "-1", "a-1.task")]
    #[case::without_extension("README", "-1", "README-1")]
    #[case::double_extension("a.tar.gz", "-2", "a.tar-2.gz")]
    fn infix_goes_before_the_extension(
        #[case] name: &str,
        #[case] insert: &str,
        #[case] expected: &str,
    ) {
        assert_eq!(
            with_infix(OsStr::new(name), insert),
            OsString::from(expected)
        );
    }

    #[test]
    fn claim_targets_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.task"), "1").unwrap();
        std::fs::write(dir.path().join("a-1.task"), "2").unwrap();
        assert_eq!(
            claim_target(dir.path(), OsStr::new("a.task")),
            dir.path().join("a-2.task")
        );
    }

    #[test]
    fn locations_are_recognised() {
        let (dir, stage, name) = claim_location(Path::new("/w/.leash/done/a.task")).unwrap();
        assert_eq!(
            (dir.as_path(), stage, name.as_os_str()),
            (Path::new("/w"), ClaimStage::Done, OsStr::new("a.task"))
        );
        assert!(claim_location(Path::new("/w/a.task")).is_none());
        assert!(claim_location(Path::new("/w/.leash/other/a.task")).is_none());
    }
}
