//! leash's state: one SQLite database (WAL, bundled SQLite) with append-only
//! migrations, jobs, approvals, conversations, schedule marks, and the
//! tamper-evident audit log — a sha256 hash chain mirrored to JSON lines.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod approvals;
mod audit_log;
mod audit_record;
mod audit_table;
mod canonical;
mod connection;
mod conversations;
mod durability;
mod error;
mod fleet_heads;
mod grants;
mod group_commit;
mod job_queue;
mod jobs;
mod migrations;
mod mirror_files;
mod mirror_writer;
mod reconcile;
mod refused_shapes;
mod store;
mod timestamp;
mod trigger_marks;
mod undo_journal;
mod verify;

pub use approvals::{Approval, ApprovalState, NewApproval};
pub use audit_log::{AuditLog, AuditOptions};
pub use audit_record::{AuditRecord, GENESIS_HASH};
pub use canonical::canonical_json;
pub use conversations::ConversationMessage;
pub use durability::{BATCH_INTERVAL, BATCH_RECORDS, Durability, MAX_GROUP_RECORDS};
pub use error::StoreError;
pub use fleet_heads::ChainHead;
pub use grants::{Grant, GrantScope, NewGrant};
pub use group_commit::AuditEntry;
pub use job_queue::{Admission, AdmitError, RecoveredJob};
pub use jobs::{Job, JobState, NewJob, TriggerSource};
pub use leash_protocol::AuditKind;
pub use migrations::{MIGRATIONS, Migration, SCHEMA_VERSION};
pub use reconcile::RECOVERED_KIND;
pub use refused_shapes::{NewRefusedShape, RefusedShape};
pub use store::Store;
pub use undo_journal::{NewUndoAction, NewUndoTarget, UndoAction, UndoState, UndoTarget};
pub use verify::VerifyReport;
