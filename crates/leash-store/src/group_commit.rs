//! Group commit: appenders on several threads share one transaction and one
//! fsync instead of queueing for one each.
//!
//! The first appender to arrive while nobody is writing becomes the *leader*:
//! it takes every request waiting at that moment (up to
//! [`MAX_GROUP_RECORDS`] records, its own first), writes them in one
//! transaction, and hands each waiting appender its records. Appenders that
//! arrive while the leader writes wait and form the next group. Nothing is
//! acknowledged before the group's commit (and, with `Fsync`, its fsync) is
//! done, so each caller keeps exactly the guarantee of a lone append.
//!
//! Written by hand because no crate offers a group commit over a caller's
//! transaction; it is a mutex, a condition variable and a map of tickets.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use leash_protocol::AuditKind;
use leash_protocol::audit::AuditPayload;

use crate::audit_record::AuditRecord;
use crate::durability::MAX_GROUP_RECORDS;
use crate::error::StoreError;

/// One record to append.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The job it is about, if any.
    pub job_id: Option<i64>,
    /// The record kind, e.g. `command.started`.
    pub kind: AuditKind,
    /// The record's data.
    pub payload: serde_json::Value,
}

impl AuditEntry {
    /// An entry for `append_group`.
    pub fn new(job_id: Option<i64>, kind: AuditKind, payload: serde_json::Value) -> Self {
        AuditEntry {
            job_id,
            kind,
            payload,
        }
    }

    /// An entry with a typed payload, written as its kind.
    pub fn typed<P: AuditPayload>(job_id: Option<i64>, payload: &P) -> Self {
        AuditEntry::new(job_id, P::KIND, payload.to_value())
    }
}

type Outcome = Result<Vec<AuditRecord>, StoreError>;

#[derive(Debug)]
struct Request {
    ticket: u64,
    entries: Vec<AuditEntry>,
}

#[derive(Debug, Default)]
struct State {
    waiting: Vec<Request>,
    writing: bool,
    next_ticket: u64,
    finished: HashMap<u64, Outcome>,
}

/// The queue appenders meet in.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    turn: Condvar,
}

impl GroupCommit {
    /// Appends `entries` as one unit (they are committed together, in order,
    /// with nothing in between), possibly in a transaction shared with other
    /// threads' entries. `write` writes one batch in one transaction; a batch
    /// that fails is retried request by request, so one caller's failure is
    /// never reported to another.
    pub(crate) fn submit(
        &self,
        db_path: &Path,
        entries: Vec<AuditEntry>,
        write: impl Fn(Vec<AuditEntry>) -> Outcome,
    ) -> Outcome {
        let mut state = self.lock(db_path)?;
        let ticket = state.next_ticket;
        state.next_ticket = state.next_ticket.wrapping_add(1);
        state.waiting.push(Request { ticket, entries });
        loop {
            if let Some(outcome) = state.finished.remove(&ticket) {
                return outcome;
            }
            if !state.writing && state.waiting.iter().any(|r| r.ticket == ticket) {
                break;
            }
            state = self.turn.wait(state).map_err(|_| poisoned(db_path))?;
        }
        // Leader: take our request first, then whoever else fits.
        state.writing = true;
        let batch = take_batch(&mut state.waiting, ticket);
        drop(state);
        let outcomes = write_batch(batch, &write);
        let mut state = self.lock(db_path)?;
        state.writing = false;
        let mut mine = None;
        for (request_ticket, outcome) in outcomes {
            if request_ticket == ticket {
                mine = Some(outcome);
            } else {
                state.finished.insert(request_ticket, outcome);
            }
        }
        drop(state);
        self.turn.notify_all();
        mine.unwrap_or_else(|| Err(poisoned(db_path)))
    }

    fn lock(&self, db_path: &Path) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state.lock().map_err(|_| poisoned(db_path))
    }
}

fn poisoned(db_path: &Path) -> StoreError {
    StoreError::Poisoned {
        path: PathBuf::from(db_path),
    }
}

/// Removes from `waiting` the leader's request (first) and, in arrival order,
/// every other request that still fits in [`MAX_GROUP_RECORDS`].
fn take_batch(waiting: &mut Vec<Request>, leader: u64) -> Vec<Request> {
    let mut batch = Vec::new();
    if let Some(index) = waiting.iter().position(|r| r.ticket == leader) {
        batch.push(waiting.remove(index));
    }
    let mut records: usize = batch.iter().map(|r| r.entries.len()).sum();
    let mut index = 0;
    while index < waiting.len() {
        let size = waiting[index].entries.len();
        if records + size <= MAX_GROUP_RECORDS {
            records += size;
            batch.push(waiting.remove(index));
        } else {
            index += 1;
        }
    }
    batch
}

/// Writes the requests (the leader's first) as one transaction; if that fails
/// with several in it, each request again on its own.
fn write_batch(
    requests: Vec<Request>,
    write: &impl Fn(Vec<AuditEntry>) -> Outcome,
) -> Vec<(u64, Outcome)> {
    if requests.len() <= 1 {
        return requests
            .into_iter()
            .map(|request| (request.ticket, write(request.entries)))
            .collect();
    }
    let all: Vec<AuditEntry> = requests
        .iter()
        .flat_map(|r| r.entries.iter().cloned())
        .collect();
    match write(all) {
        Ok(mut records) => {
            let mut outcomes = Vec::with_capacity(requests.len());
            for request in requests {
                let rest = records.split_off(request.entries.len().min(records.len()));
                outcomes.push((request.ticket, Ok(records)));
                records = rest;
            }
            outcomes
        }
        Err(err) => {
            tracing::warn!(error = %err, "a grouped audit append failed; retrying each on its own");
            requests
                .into_iter()
                .map(|request| (request.ticket, write(request.entries)))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(ticket: u64, n: usize) -> Request {
        Request {
            ticket,
            entries: vec![AuditEntry::new(None, AuditKind::Notify, serde_json::Value::Null); n],
        }
    }

    #[test]
    fn the_leader_goes_first_and_the_batch_never_exceeds_the_bound() {
        let mut waiting = vec![
            request(1, MAX_GROUP_RECORDS - 2),
            request(2, 3),
            request(3, 2),
            request(4, 1),
        ];
        let batch = take_batch(&mut waiting, 3);
        let tickets: Vec<u64> = batch.iter().map(|r| r.ticket).collect();
        assert_eq!(tickets, vec![3, 1]);
        let left: Vec<u64> = waiting.iter().map(|r| r.ticket).collect();
        assert_eq!(left, vec![2, 4]);
    }

    #[test]
    fn a_request_larger_than_the_bound_still_goes_alone() {
        let mut waiting = vec![request(7, MAX_GROUP_RECORDS + 5), request(8, 1)];
        let batch = take_batch(&mut waiting, 7);
        assert_eq!(batch.len(), 1);
        assert_eq!(waiting.len(), 1);
    }
}
