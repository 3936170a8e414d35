//! The last audit-chain head this device verified for each other device of
//! the fleet (`leash fleet audit`): a later chain must extend it — hold the
//! same hash at that seq — or that device's history was rewritten or cut.

use rusqlite::{OptionalExtension, params};

use crate::error::{SqliteResultExt, StoreError};
use crate::store::Store;
use crate::timestamp::now_rfc3339;

/// One verified head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainHead {
    /// Sequence number of the last record verified on that device's chain.
    pub seq: u64,
    /// That record's hash: a later reading must hold the same hash at `seq`.
    pub hash: String,
    /// When this device verified it (RFC 3339, UTC).
    pub verified_at: String,
}

impl Store {
    /// The head last verified for `device`, if any.
    pub fn fleet_head(&self, device: &str) -> Result<Option<ChainHead>, StoreError> {
        self.conn
            .query_row(
                "SELECT seq, hash, verified_at FROM fleet_heads WHERE device = ?1",
                [device],
                |row| {
                    Ok(ChainHead {
                        seq: row.get::<_, i64>(0)?.max(0).unsigned_abs(),
                        hash: row.get(1)?,
                        verified_at: row.get(2)?,
                    })
                },
            )
            .optional()
            .at(&self.path)
    }

    /// Records that `device`'s chain was verified up to `seq` with `hash`.
    pub fn set_fleet_head(&self, device: &str, seq: u64, hash: &str) -> Result<(), StoreError> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.conn
            .execute(
                "INSERT INTO fleet_heads (device, seq, hash, verified_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (device) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
                 verified_at = excluded.verified_at",
                params![device, seq, hash, now_rfc3339()],
            )
            .at(&self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_devices_head_is_remembered_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("leash.db")).unwrap();
        assert_eq!(store.fleet_head("c").unwrap(), None);
        store.set_fleet_head("c", 7, "abc").unwrap();
        store.set_fleet_head("d", 1, "def").unwrap();
        let head = store.fleet_head("c").unwrap().unwrap();
        assert_eq!((head.seq, head.hash.as_str()), (7, "abc"));
        store.set_fleet_head("c", 9, "xyz").unwrap();
        let head = store.fleet_head("c").unwrap().unwrap();
        assert_eq!((head.seq, head.hash.as_str()), (9, "xyz"));
        assert_eq!(store.fleet_head("d").unwrap().unwrap().seq, 1);
    }
}
