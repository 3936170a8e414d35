//! `leash fleet audit`: reading another device's audit chain through the
//! fleet, a page at a time, to verify it on the reading device. Only devices
//! in the owner's `fleet.trusted` may read it (the chain holds prompts,
//! commands and outputs).

use serde::{Deserialize, Serialize};

/// The direct-message kind of audit questions.
pub const KIND: &str = "audit";
/// At most this many records per page, whatever is asked.
pub const MAX_PAGE_RECORDS: u32 = 200;
/// A page stops growing past this many bytes of records (NATS refuses
/// messages above its `max_payload`, 1 MiB by default); it always holds at
/// least one record.
pub const MAX_PAGE_BYTES: usize = 512 * 1024;

/// The records after `after` (a seq; 0: from the start), at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuestion {
    /// The last seq the asker already has (0: from the start).
    pub after: u64,
    /// The most records wanted; capped at [`MAX_PAGE_RECORDS`].
    pub limit: u32,
}

/// The owner's answer. Closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum AuditAnswer {
    /// Records in seq order, as stored (hashes included), and the owner's
    /// last seq when it answered.
    Page {
        /// The records, so the asker can re-check the hash chain itself.
        records: Vec<serde_json::Value>,
        /// The owner's last seq: the asker knows when it has everything.
        head: u64,
    },
    /// `untrusted` or `failed`.
    Refused {
        /// `untrusted` or `failed`.
        code: String,
        /// What went wrong, for the person.
        reason: String,
    },
}
