//! Keeping the journal bounded: entries older than `undo.keep_days` go, then
//! the oldest until the store fits `undo.max_mb`, then every pre-image no
//! remaining entry refers to.

use leash_store::AuditKind;
use std::collections::HashSet;

use leash_store::AuditLog;
use serde::Serialize;
use serde_json::json;

use crate::error::UndoError;
use crate::journal::Journal;
use crate::snapshot::{Content, EntryState, Snapshot};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    pub entries_removed: usize,
    pub objects_removed: usize,
    pub bytes_freed: u64,
    pub bytes_kept: u64,
}

fn objects_of(doc: &str, out: &mut HashSet<String>) {
    let Ok(snap) = serde_json::from_str::<Snapshot>(doc) else {
        return;
    };
    for state in snap.entries.values() {
        if let EntryState::File {
            content: Content::Hash(name) | Content::Link(name),
            ..
        } = state
        {
            out.insert(name.clone());
        }
    }
}

impl Journal {
    /// Prunes the journal; audited as `undo.gc` when anything went.
    pub fn gc(&self, audit: &AuditLog) -> Result<GcReport, UndoError> {
        let mut report = GcReport::default();
        let days = i64::try_from(self.settings.keep_days).unwrap_or(i64::MAX / 86_400);
        let cutoff = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(days.saturating_mul(24)))
            .unwrap_or(jiff::Timestamp::MIN)
            .to_string();
        let mut store = self.store()?;
        for entry in store.undo_actions_before(&cutoff)? {
            store.undo_delete(entry.id)?;
            report.entries_removed += 1;
        }
        // Over the size limit: the oldest entries go first.
        let mut remaining = store.undo_actions_all()?.into_iter();
        loop {
            let mut referenced = HashSet::new();
            let all = store.undo_actions_all()?;
            for entry in &all {
                for target in store.undo_targets(entry.id)? {
                    objects_of(&target.before, &mut referenced);
                }
            }
            for (name, _) in self.objects.list()? {
                if !referenced.contains(&name) {
                    report.bytes_freed += self.objects.remove(&name)?;
                    report.objects_removed += 1;
                }
            }
            let used = self.objects.usage()?;
            report.bytes_kept = used;
            if used <= self.settings.max_bytes {
                break;
            }
            match remaining.next() {
                Some(oldest) => {
                    store.undo_delete(oldest.id)?;
                    report.entries_removed += 1;
                }
                None => break,
            }
        }
        drop(store);
        if report.entries_removed > 0 || report.objects_removed > 0 {
            audit
                .append(None, AuditKind::UndoGc, json!(report))
                .map_err(UndoError::Audit)?;
        }
        Ok(report)
    }
}
