//! One audit record and the hash that chains it to the one before.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use leash_protocol::AuditKind;
use leash_protocol::audit::AuditPayload;

use crate::canonical::canonical_json;

/// The `prev_hash` of the first record: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An append-only audit record.
///
/// `hash = hex(sha256(prev_hash ‖ canonical({seq, ts, job_id, kind, payload})))`
/// where `prev_hash` enters as its 64 ASCII hex characters and `canonical` is
/// [`canonical_json`] of an object with exactly those five members (`job_id` is
/// `null` when absent). Changing any field, the order, or a link breaks the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// 1, 2, 3, … without gaps.
    pub seq: u64,
    /// When it was appended, RFC 3339 UTC.
    pub ts: String,
    /// The job it belongs to, if any.
    pub job_id: Option<i64>,
    /// What happened, dotted (`job.queued`, `action.decided`, `audit.recovered`).
    pub kind: String,
    /// The details, any JSON.
    pub payload: serde_json::Value,
    /// The previous record's `hash` ([`GENESIS_HASH`] for seq 1).
    pub prev_hash: String,
    /// This record's hash (see the type's documentation).
    pub hash: String,
}

impl AuditRecord {
    /// Builds a record and computes its hash.
    pub fn seal(
        seq: u64,
        ts: String,
        job_id: Option<i64>,
        kind: &str,
        payload: serde_json::Value,
        prev_hash: &str,
    ) -> AuditRecord {
        let mut record = AuditRecord {
            seq,
            ts,
            job_id,
            kind: kind.to_owned(),
            payload,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        record
    }

    /// The record's kind, when it is one this leash knows (a record written
    /// by another version may carry a kind this one does not).
    pub fn audit_kind(&self) -> Option<AuditKind> {
        self.kind.parse().ok()
    }

    /// Whether the record is of `kind`.
    pub fn is(&self, kind: AuditKind) -> bool {
        self.kind == kind.as_str()
    }

    /// The payload as `P`, when the record is of `P`'s kind and has its shape.
    pub fn payload_as<P: AuditPayload>(&self) -> Option<P> {
        if self.is(P::KIND) {
            P::from_value(&self.payload)
        } else {
            None
        }
    }

    /// The hash this record should have, recomputed from its other fields.
    pub fn compute_hash(&self) -> String {
        let body = serde_json::json!({
            "seq": self.seq,
            "ts": self.ts,
            "job_id": self.job_id,
            "kind": self.kind,
            "payload": self.payload,
        });
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(canonical_json(&body).as_bytes());
        hex::encode(hasher.finalize())
    }

    /// Whether the stored hash matches the fields.
    pub fn hash_is_valid(&self) -> bool {
        self.compute_hash() == self.hash
    }

    /// The whole record (hash included) as canonical JSON: exactly the bytes of
    /// its line in the JSONL mirror, without the newline.
    pub fn to_canonical_json(&self) -> String {
        let whole = serde_json::json!({
            "seq": self.seq,
            "ts": self.ts,
            "job_id": self.job_id,
            "kind": self.kind,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        });
        canonical_json(&whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> AuditRecord {
        AuditRecord::seal(
            1,
            "2025-01-01T00:00:00Z".into(),
            Some(7),
            "job.queued",
            json!({"b": 1, "a": "x"}),
            GENESIS_HASH,
        )
    }

    #[test]
    fn hash_is_sha256_of_prev_hash_and_canonical_body() {
        let record = sample();
        let body = r#"{"job_id":7,"kind":"job.queued","payload":{"a":"x","b":1},"seq":1,"ts":"2025-01-01T00:00:00Z"}"#;
        let expected = hex::encode(Sha256::digest(format!("{GENESIS_HASH}{body}").as_bytes()));
        assert_eq!(record.hash, expected);
        assert!(record.hash_is_valid());
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = sample();
        let edits: [fn(&mut AuditRecord); 6] = [
            |r| r.seq = 2,
            |r| r.ts.push('x'),
            |r| r.job_id = None,
            |r| r.kind.push('x'),
            |r| r.payload = json!({"b": 2, "a": "x"}),
            |r| r.prev_hash = "1".repeat(64),
        ];
        for edit in edits {
            let mut record = base.clone();
            edit(&mut record);
            assert!(!record.hash_is_valid(), "edit not detected: {record:?}");
        }
    }

    #[test]
    fn mirror_line_reads_back_to_the_record() {
        let record = sample();
        let line = record.to_canonical_json();
        let back: AuditRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, record);
    }
}
