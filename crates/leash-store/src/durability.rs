//! How hard the audit log works to survive a power cut.

use std::time::Duration;

/// The audit log's durability. Both survive a process crash (`kill -9`) with a
/// chain that verifies; they differ on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every record is on stable storage before `append` returns: the mirror line
    /// is fsynced, then the SQLite commit is fsynced (`synchronous=FULL`).
    #[default]
    Fsync,
    /// Much faster: SQLite `synchronous=NORMAL` (WAL commits are not fsynced
    /// one by one) and the mirror is fsynced at most every
    /// [`BATCH_RECORDS`] records or [`BATCH_INTERVAL`], and on
    /// [`crate::AuditLog::flush`] and drop. A power cut can lose the last
    /// records, and can leave the mirror and the database disagreeing by more
    /// than the one record a crash explains — `verify` then reports it, because
    /// it cannot tell that from tampering.
    Batched,
}

/// Batched mode fsyncs the mirror at least every this many records…
pub const BATCH_RECORDS: u32 = 64;
/// …or when this much time has passed since the last fsync, whichever is first
/// (checked on append; there is no background thread).
pub const BATCH_INTERVAL: Duration = Duration::from_millis(100);

/// At most this many records share one transaction (one fsync): the records a
/// caller groups (e.g. a decision and `command.started` before a spawn) and
/// the appends of other threads waiting at the same moment. It also bounds how
/// far a crash can leave the mirror ahead of the database, which is what open
/// adopts and `verify` tolerates.
pub const MAX_GROUP_RECORDS: usize = 16;
