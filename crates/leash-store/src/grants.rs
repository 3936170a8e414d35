//! Grants: a person's standing "yes" to a shape of command (see
//! `leash_policy::GrantPattern` for what the pattern means). The store keeps
//! them typed and never deletes one: revoking stamps `revoked_at`, so every
//! audit record that names a grant can still be looked up.

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::error::{SqliteResultExt, StoreError};
use crate::store::Store;
use crate::timestamp::now_rfc3339;

/// Where a grant applies. Closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum GrantScope {
    /// Every job whose workspace is this canonical directory.
    Workspace(String),
    /// Every job of this trigger.
    Trigger(String),
    /// This one job.
    Job(i64),
}

impl GrantScope {
    /// The stored `scope_kind` spelling.
    pub fn kind(&self) -> &'static str {
        match self {
            GrantScope::Workspace(_) => "workspace",
            GrantScope::Trigger(_) => "trigger",
            GrantScope::Job(_) => "job",
        }
    }

    /// The stored `scope_value`.
    pub fn value(&self) -> String {
        match self {
            GrantScope::Workspace(dir) => dir.clone(),
            GrantScope::Trigger(name) => name.clone(),
            GrantScope::Job(id) => id.to_string(),
        }
    }

    fn decode(kind: &str, value: String) -> Option<GrantScope> {
        match kind {
            "workspace" => Some(GrantScope::Workspace(value)),
            "trigger" => Some(GrantScope::Trigger(value)),
            "job" => value.parse().ok().map(GrantScope::Job),
            _ => None,
        }
    }
}

/// A grant as it is created.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGrant {
    /// The program identity (`python3`, `git`), as the policy judges it.
    pub program: String,
    /// The full argv pattern text, program first.
    pub pattern: String,
    /// Canonical directories every path argument must stay inside.
    pub roots: Vec<String>,
    /// Which jobs it answers for (one job, one trigger, the workspace).
    pub scope: GrantScope,
    /// RFC 3339 UTC; `None` = until revoked.
    pub expires_at: Option<String>,
    /// Who made it, as the channel names them.
    pub granted_by: String,
    /// The channel the person used (`http`, `web`, `cli`, `termux`, `tty`).
    pub channel: String,
    /// The approval it was made with, if any.
    pub approval_id: Option<i64>,
}

/// A stored grant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grant {
    /// The grant's id (`leash grants revoke ID`).
    pub id: i64,
    /// See [`NewGrant::program`].
    pub program: String,
    /// See [`NewGrant::pattern`].
    pub pattern: String,
    /// See [`NewGrant::roots`].
    pub roots: Vec<String>,
    /// Which jobs it answers for.
    pub scope: GrantScope,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// `None` = until revoked.
    pub expires_at: Option<String>,
    /// Who made it.
    pub granted_by: String,
    /// The channel the person used.
    pub channel: String,
    /// The approval it was made with, if any.
    pub approval_id: Option<i64>,
    /// When it was revoked; a revoked grant answers for nothing.
    pub revoked_at: Option<String>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// How many commands it let run without asking.
    pub uses: i64,
    /// When it last answered for a person.
    pub last_used_at: Option<String>,
}

impl Grant {
    /// Not revoked and not past its expiry at `now` (RFC 3339 strings sort in
    /// time order; an expiry that does not parse counts as past: fail closed).
    pub fn is_active_at(&self, now: &jiff::Timestamp) -> bool {
        if self.revoked_at.is_some() {
            return false;
        }
        match &self.expires_at {
            None => true,
            Some(at) => at.parse::<jiff::Timestamp>().is_ok_and(|at| *now < at),
        }
    }
}

const GRANT_COLUMNS: &str = "id, program, pattern, roots, scope_kind, scope_value, created_at, \
     expires_at, granted_by, channel, approval_id, revoked_at, revoked_by, uses, last_used_at";

impl Store {
    /// Stores a new grant and returns it.
    pub fn insert_grant(&self, grant: &NewGrant) -> Result<Grant, StoreError> {
        let roots = serde_json::Value::from(grant.roots.clone()).to_string();
        self.conn
            .execute(
                "INSERT INTO grants (program, pattern, roots, scope_kind, scope_value, \
                 created_at, expires_at, granted_by, channel, approval_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    grant.program,
                    grant.pattern,
                    roots,
                    grant.scope.kind(),
                    grant.scope.value(),
                    now_rfc3339(),
                    grant.expires_at,
                    grant.granted_by,
                    grant.channel,
                    grant.approval_id,
                ],
            )
            .at(&self.path)?;
        let id = self.conn.last_insert_rowid();
        self.grant(id)?.ok_or_else(|| self.grant_not_found(id))
    }

    /// One grant by id (revoked ones too).
    pub fn grant(&self, id: i64) -> Result<Option<Grant>, StoreError> {
        let raw = self
            .conn
            .query_row(
                &format!("SELECT {GRANT_COLUMNS} FROM grants WHERE id = ?1"),
                [id],
                RawGrant::from_row,
            )
            .optional()
            .at(&self.path)?;
        raw.map(|raw| raw.decode(self)).transpose()
    }

    /// Every grant, newest first; `active_only` leaves out revoked and
    /// expired ones.
    pub fn grants(&self, active_only: bool) -> Result<Vec<Grant>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {GRANT_COLUMNS} FROM grants WHERE (?1 = 0 OR revoked_at IS NULL) \
                 ORDER BY id DESC"
            ))
            .at(&self.path)?;
        let rows = stmt
            .query_map([i64::from(active_only)], RawGrant::from_row)
            .at(&self.path)?;
        let now = jiff::Timestamp::now();
        let mut grants = Vec::new();
        for raw in rows {
            let grant = raw.at(&self.path)?.decode(self)?;
            if !active_only || grant.is_active_at(&now) {
                grants.push(grant);
            }
        }
        Ok(grants)
    }

    /// Revokes a grant. Revoking twice is refused
    /// ([`StoreError::InvalidTransition`]), so the audit records one revocation.
    pub fn revoke_grant(&self, id: i64, by: &str) -> Result<Grant, StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE grants SET revoked_at = ?1, revoked_by = ?2 \
                 WHERE id = ?3 AND revoked_at IS NULL",
                params![now_rfc3339(), by, id],
            )
            .at(&self.path)?;
        let grant = self.grant(id)?.ok_or_else(|| self.grant_not_found(id))?;
        if changed == 0 {
            return Err(StoreError::InvalidTransition {
                table: "grants",
                id,
                current: "revoked".to_owned(),
                requested: "revoked".to_owned(),
            });
        }
        Ok(grant)
    }

    /// Counts one use of a grant.
    pub fn note_grant_used(&self, id: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE grants SET uses = uses + 1, last_used_at = ?1 WHERE id = ?2",
                params![now_rfc3339(), id],
            )
            .at(&self.path)?;
        Ok(())
    }

    /// Records the grant a person made while answering approval `approval_id`.
    pub fn link_approval_grant(&self, approval_id: i64, grant_id: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE approvals SET grant_id = ?1 WHERE id = ?2",
                params![grant_id, approval_id],
            )
            .at(&self.path)?;
        Ok(())
    }

    /// The argvs of every approved approval (oldest first), for counting how
    /// often a person approved one shape.
    pub fn approved_argvs(&self) -> Result<Vec<Vec<String>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT argv FROM approvals WHERE state = 'approved' ORDER BY id")
            .at(&self.path)?;
        let rows = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .at(&self.path)?;
        let mut argvs = Vec::new();
        for text in rows {
            // A row whose argv does not decode cannot be of any shape.
            if let Ok(argv) = serde_json::from_str(&text.at(&self.path)?) {
                argvs.push(argv);
            }
        }
        Ok(argvs)
    }

    fn grant_not_found(&self, id: i64) -> StoreError {
        StoreError::NotFound {
            table: "grants",
            id,
            path: self.path.clone(),
        }
    }
}

/// A grant row before its text columns are decoded.
struct RawGrant {
    id: i64,
    program: String,
    pattern: String,
    roots: String,
    scope_kind: String,
    scope_value: String,
    created_at: String,
    expires_at: Option<String>,
    granted_by: String,
    channel: String,
    approval_id: Option<i64>,
    revoked_at: Option<String>,
    revoked_by: Option<String>,
    uses: i64,
    last_used_at: Option<String>,
}

impl RawGrant {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawGrant> {
        Ok(RawGrant {
            id: row.get(0)?,
            program: row.get(1)?,
            pattern: row.get(2)?,
            roots: row.get(3)?,
            scope_kind: row.get(4)?,
            scope_value: row.get(5)?,
            created_at: row.get(6)?,
            expires_at: row.get(7)?,
            granted_by: row.get(8)?,
            channel: row.get(9)?,
            approval_id: row.get(10)?,
            revoked_at: row.get(11)?,
            revoked_by: row.get(12)?,
            uses: row.get(13)?,
            last_used_at: row.get(14)?,
        })
    }

    fn decode(self, store: &Store) -> Result<Grant, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt {
            path: store.path.clone(),
            what,
        };
        let roots: Vec<String> = serde_json::from_str(&self.roots).map_err(|err| {
            corrupt(format!(
                "grant {} has roots that are not a JSON string array: {err}",
                self.id
            ))
        })?;
        let scope =
            GrantScope::decode(&self.scope_kind, self.scope_value.clone()).ok_or_else(|| {
                corrupt(format!(
                    "grant {} has an unknown scope {:?}={:?}",
                    self.id, self.scope_kind, self.scope_value
                ))
            })?;
        Ok(Grant {
            id: self.id,
            program: self.program,
            pattern: self.pattern,
            roots,
            scope,
            created_at: self.created_at,
            expires_at: self.expires_at,
            granted_by: self.granted_by,
            channel: self.channel,
            approval_id: self.approval_id,
            revoked_at: self.revoked_at,
            revoked_by: self.revoked_by,
            uses: self.uses,
            last_used_at: self.last_used_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_grant(scope: GrantScope, expires_at: Option<String>) -> NewGrant {
        NewGrant {
            program: "python3".into(),
            pattern: "python3 scripts/*.py".into(),
            roots: vec!["/work/ws".into()],
            scope,
            expires_at,
            granted_by: "alice".into(),
            channel: "cli".into(),
            approval_id: None,
        }
    }

    #[test]
    fn grants_round_trip_and_revoke_once() {
        let store = Store::open_in_memory().unwrap();
        let made = store
            .insert_grant(&new_grant(GrantScope::Trigger("inbox".into()), None))
            .unwrap();
        assert_eq!(made.scope, GrantScope::Trigger("inbox".into()));
        assert_eq!(made.roots, vec!["/work/ws".to_owned()]);
        assert_eq!(store.grants(true).unwrap().len(), 1);
        store.note_grant_used(made.id).unwrap();
        assert_eq!(store.grant(made.id).unwrap().unwrap().uses, 1);
        let revoked = store.revoke_grant(made.id, "bob").unwrap();
        assert_eq!(revoked.revoked_by.as_deref(), Some("bob"));
        assert!(store.grants(true).unwrap().is_empty());
        assert_eq!(store.grants(false).unwrap().len(), 1, "never deleted");
        assert!(matches!(
            store.revoke_grant(made.id, "bob"),
            Err(StoreError::InvalidTransition { .. })
        ));
    }

    #[test]
    fn expired_and_unparseable_expiries_are_inactive() {
        let store = Store::open_in_memory().unwrap();
        let past = store
            .insert_grant(&new_grant(
                GrantScope::Job(3),
                Some("2000-01-01T00:00:00Z".into()),
            ))
            .unwrap();
        let garbage = store
            .insert_grant(&new_grant(GrantScope::Job(3), Some("soon".into())))
            .unwrap();
        let future = store
            .insert_grant(&new_grant(
                GrantScope::Job(3),
                Some("2999-01-01T00:00:00Z".into()),
            ))
            .unwrap();
        let now = jiff::Timestamp::now();
        assert!(!past.is_active_at(&now));
        assert!(!garbage.is_active_at(&now));
        assert!(future.is_active_at(&now));
        let active: Vec<i64> = store.grants(true).unwrap().iter().map(|g| g.id).collect();
        assert_eq!(active, vec![future.id]);
    }
}
