//! leash-undo: the rollback journal and `leash undo`.
//!
//! - [`Journal`]: before a file-changing action runs, [`Journal::plan`]
//!   classes it ([`Reversibility`]) from the write targets the policy names,
//!   and [`Journal::begin`] saves the pre-image of every target (content
//!   addressed, deduplicated, in a 0700 directory of the state dir) and
//!   commits the entry durably; [`Journal::finish`] records the after-images.
//!   A file a new inode is written over ([`WriteMode::NewInode`]) is kept by
//!   hard link, in O(1); the engine splits `begin` into [`Journal::prepare`]
//!   and one sync ([`Barrier`]) shared with the action's own write.
//! - [`undo`]: restores pre-images, newest first, refusing targets that
//!   changed since (unless forced, which journals them first) and never
//!   writing through a link.
//! - [`Journal::gc`]: keeps the journal within `undo.max_mb` / `undo.keep_days`.
//! - [`Journal::changes`]: a job's changes and whether each can be undone.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod changes;
mod class;
mod durable;
mod error;
mod gc;
mod journal;
mod objects;
mod restore;
mod snapshot;
mod write_mode;

pub use changes::Change;
pub use class::Reversibility;
pub use durable::Barrier;
pub use error::UndoError;
pub use gc::GcReport;
pub use journal::{EntryContext, Journal, Pending, Plan, UndoSettings};
pub use objects::ObjectStore;
pub use restore::{
    EntryOutcome, EntryStatus, PathChange, Selection, UndoOptions, UndoReport, undo,
};
pub use write_mode::{WriteMode, replaces_files};
