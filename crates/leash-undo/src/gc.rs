//! Keeping the journal bounded: entries older than `undo.keep_days` go, then
//! the oldest until the store fits `undo.max_mb`, then every pre-image no
//! remaining entry refers to.
//!
//! What is in use is never pruned, whatever its age or the size cap: the
//! entries of a job that is queued, running or waiting for an approval (its
//! undo may still be asked for, and a re-queued job's earlier entries are
//! what undo needs after a crash), an entry not started yet whose job is
//! unknown (a `leash exec` in flight), and a pre-image written in the last
//! [`IN_FLIGHT`] that no entry names yet (an action's `prepare` saves its
//! pre-images before it commits the entry that names them). Not covered: a
//! `prepare` that reuses (deduplicates) the object of an entry this gc prunes
//! at that very moment; its undo then refuses ("cannot open the pre-image"),
//! it never restores wrong content.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use leash_store::{AuditKind, AuditLog, JobState, Store, UndoAction, UndoState};
use serde::Serialize;
use serde_json::json;

use crate::error::UndoError;
use crate::journal::Journal;
use crate::snapshot::{Content, EntryState, Snapshot};

/// How long an entry not started (without a job to ask) or an object no
/// entry names yet is taken as belonging to an action still being journaled.
/// Far longer than any command may run (`security.limits.timeout_s`).
pub const IN_FLIGHT: Duration = Duration::from_secs(3600);

/// What one [`Journal::gc`] run removed and what the store holds after it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Journal entries pruned (too old, or the oldest over `undo.max_mb`).
    pub entries_removed: usize,
    /// Pre-images removed because no remaining entry names them.
    pub objects_removed: usize,
    /// Bytes the removed pre-images took, in bytes.
    pub bytes_freed: u64,
    /// Bytes the object store holds afterwards; may stay over `undo.max_mb` when
    /// what is left is in use.
    pub bytes_kept: u64,
    /// Entries kept because their job (or action) is still running.
    pub entries_in_use: usize,
}

fn objects_of(doc: &str, out: &mut Vec<String>) {
    let Ok(snap) = serde_json::from_str::<Snapshot>(doc) else {
        return;
    };
    for state in snap.entries.values() {
        if let EntryState::File {
            content: Content::Hash(name) | Content::Link(name),
            ..
        } = state
            && !out.contains(name)
        {
            out.push(name.clone());
        }
    }
}

/// Whether `entry` belongs to work still going on (see the module docs).
fn in_use(store: &Store, entry: &UndoAction, now: jiff::Timestamp) -> Result<bool, UndoError> {
    let young = || {
        // A time that does not read is taken as young: keep rather than lose.
        entry
            .created_at
            .parse::<jiff::Timestamp>()
            .map_or(true, |created: jiff::Timestamp| {
                let grace = i64::try_from(IN_FLIGHT.as_secs()).unwrap_or(i64::MAX);
                now.duration_since(created) < jiff::SignedDuration::from_secs(grace)
            })
    };
    let not_started = || entry.state == UndoState::NotStarted && young();
    let Some(job_id) = entry.job_id else {
        return Ok(not_started());
    };
    Ok(match store.job(job_id)?.map(|job| job.state) {
        Some(JobState::Queued | JobState::Running | JobState::WaitingApproval) => true,
        Some(JobState::Done | JobState::Failed | JobState::Cancelled | JobState::Interrupted) => {
            false
        }
        None => not_started(),
    })
}

impl Journal {
    /// Prunes the journal; audited as `undo.gc` when anything went.
    pub fn gc(&self, audit: &AuditLog) -> Result<GcReport, UndoError> {
        let mut report = GcReport::default();
        let now = jiff::Timestamp::now();
        let days = i64::try_from(self.settings.keep_days).unwrap_or(i64::MAX / 86_400);
        let cutoff = now
            .checked_sub(jiff::SignedDuration::from_hours(days.saturating_mul(24)))
            .unwrap_or(jiff::Timestamp::MIN);
        let mut store = self.store()?;
        // How many remaining entries name each object, and each entry's objects.
        let mut refs: HashMap<String, usize> = HashMap::new();
        let mut prunable: Vec<(i64, Vec<String>)> = Vec::new();
        for entry in store.undo_actions_all()? {
            let mut objects = Vec::new();
            for target in store.undo_targets(entry.id)? {
                objects_of(&target.before, &mut objects);
            }
            for name in &objects {
                *refs.entry(name.clone()).or_default() += 1;
            }
            if in_use(&store, &entry, now)? {
                report.entries_in_use += 1;
                continue;
            }
            let old = entry
                .created_at
                .parse::<jiff::Timestamp>()
                .is_ok_and(|created| created < cutoff);
            if old {
                Self::drop_entry(&mut store, entry.id, &objects, &mut refs)?;
                report.entries_removed += 1;
            } else {
                prunable.push((entry.id, objects));
            }
        }
        // Then, over the size limit, the oldest prunable entries go first
        // (`undo_actions_all` is oldest first).
        let mut oldest = prunable.into_iter();
        loop {
            self.remove_unreferenced(&refs, &mut report)?;
            let used = self.objects.usage()?;
            report.bytes_kept = used;
            if used <= self.settings.max_bytes {
                break;
            }
            let Some((id, objects)) = oldest.next() else {
                break;
            };
            Self::drop_entry(&mut store, id, &objects, &mut refs)?;
            report.entries_removed += 1;
        }
        drop(store);
        if report.entries_removed > 0 || report.objects_removed > 0 {
            audit
                .append(None, AuditKind::UndoGc, json!(report))
                .map_err(UndoError::Audit)?;
        }
        Ok(report)
    }

    fn drop_entry(
        store: &mut Store,
        id: i64,
        objects: &[String],
        refs: &mut HashMap<String, usize>,
    ) -> Result<(), UndoError> {
        store.undo_delete(id)?;
        for name in objects {
            if let Some(count) = refs.get_mut(name) {
                *count = count.saturating_sub(1);
            }
        }
        Ok(())
    }

    /// Removes every object no remaining entry names, except one that no
    /// entry named at all and that was written in the last [`IN_FLIGHT`]
    /// (the entry naming it may not be committed yet).
    fn remove_unreferenced(
        &self,
        refs: &HashMap<String, usize>,
        report: &mut GcReport,
    ) -> Result<(), UndoError> {
        let now = SystemTime::now();
        for (name, _) in self.objects.list()? {
            let in_flight = match refs.get(&name) {
                Some(count) if *count > 0 => continue,
                Some(_) => false,
                None => self
                    .objects
                    .changed_at(&name)
                    .is_none_or(|when| now.duration_since(when).unwrap_or_default() < IN_FLIGHT),
            };
            if in_flight {
                continue;
            }
            report.bytes_freed += self.objects.remove(&name)?;
            report.objects_removed += 1;
        }
        Ok(())
    }
}
