//! Approvals: a person's yes or no to one exact argv, with an expiry and a
//! per-request nonce (phone notifications act without a session, so the nonce
//! proves the button belongs to this request). Minimal typed accessors.

use leash_secret::Secret;
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::error::{SqliteResultExt, StoreError};
use crate::store::Store;
use crate::timestamp::now_rfc3339;

pub use leash_protocol::ApprovalState;

/// A request for approval, as the engine files it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewApproval {
    /// The job that asks (`leash exec` has none).
    pub job_id: Option<i64>,
    /// RFC 3339 UTC; after it the request counts as denied.
    pub expires_at: String,
    /// Proves an answer belongs to this request; redacted in `Debug`.
    pub nonce: Secret,
    /// The exact argv the policy judged.
    pub argv: Vec<String>,
    /// Where it would run.
    pub cwd: Option<String>,
    /// The policy rule that asked for approval.
    pub rule: Option<String>,
    /// Why the rule asked, in words for people.
    pub reason: Option<String>,
    /// The grant leash suggests for this shape, when a person has approved
    /// it `approvals.suggest_after` times.
    pub suggested_grant: Option<String>,
    /// The undo class of the action (`reversible`, `partly-reversible`,
    /// `irreversible`), when the journal classed it.
    pub reversibility: Option<String>,
    /// The grant pattern leash would use for this shape of command.
    pub grant_shape: Option<String>,
}

/// An approval row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    /// The request's id (`leash approve ID`).
    pub id: i64,
    /// The job that asks.
    pub job_id: Option<i64>,
    /// When it was filed (RFC 3339).
    pub created_at: String,
    /// After this it counts as denied.
    pub expires_at: String,
    /// Redacted in `Debug` and `Serialize`: what needs it (the notifier, the
    /// API's `GET /v1/approvals/{id}`) asks for it with `expose`.
    pub nonce: Secret,
    /// Pending, or how it was decided; only a pending request changes.
    pub state: ApprovalState,
    /// The exact argv the person is asked about.
    pub argv: Vec<String>,
    /// Where it would run.
    pub cwd: Option<String>,
    /// The policy rule that asked.
    pub rule: Option<String>,
    /// Why, in words for people.
    pub reason: Option<String>,
    /// Who answered, as the channel names them.
    pub decided_by: Option<String>,
    /// When it was decided (RFC 3339).
    pub decided_at: Option<String>,
    /// `tty`, `cli`, `http`, `termux`, or `expiry`.
    pub channel: Option<String>,
    /// The grant the person made with their answer.
    pub grant_id: Option<i64>,
    /// The grant leash suggested (see [`NewApproval::suggested_grant`]).
    pub suggested_grant: Option<String>,
    /// Why the person refused it (trusted text, but escape it on display).
    pub refusal_reason: Option<String>,
    /// See [`NewApproval::reversibility`].
    pub reversibility: Option<String>,
    /// See [`NewApproval::grant_shape`].
    pub grant_shape: Option<String>,
}

const APPROVAL_COLUMNS: &str = "id, job_id, created_at, expires_at, nonce, state, argv, cwd, \
     rule, reason, decided_by, decided_at, channel, grant_id, suggested_grant, refusal_reason, \
     reversibility, grant_shape";

impl Store {
    /// Files a pending approval request and returns it as stored.
    pub fn insert_approval(&self, approval: &NewApproval) -> Result<Approval, StoreError> {
        let argv = serde_json::Value::from(approval.argv.clone()).to_string();
        self.conn
            .execute(
                "INSERT INTO approvals (job_id, created_at, expires_at, nonce, state, argv, cwd, \
                 rule, reason, suggested_grant, reversibility, grant_shape) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    approval.job_id,
                    now_rfc3339(),
                    approval.expires_at,
                    approval.nonce.expose(),
                    ApprovalState::Pending.as_str(),
                    argv,
                    approval.cwd,
                    approval.rule,
                    approval.reason,
                    approval.suggested_grant,
                    approval.reversibility,
                    approval.grant_shape,
                ],
            )
            .at(&self.path)?;
        let id = self.conn.last_insert_rowid();
        self.approval(id)?
            .ok_or_else(|| self.approval_not_found(id))
    }

    /// One approval by id.
    pub fn approval(&self, id: i64) -> Result<Option<Approval>, StoreError> {
        let raw = self
            .conn
            .query_row(
                &format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = ?1"),
                [id],
                RawApproval::from_row,
            )
            .optional()
            .at(&self.path)?;
        raw.map(|raw| raw.decode(self)).transpose()
    }

    /// Approvals, oldest first, optionally only those in `state`.
    pub fn approvals(&self, state: Option<ApprovalState>) -> Result<Vec<Approval>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE (?1 IS NULL OR state = ?1) \
                 ORDER BY id"
            ))
            .at(&self.path)?;
        let rows = stmt
            .query_map(
                params![state.map(ApprovalState::as_str)],
                RawApproval::from_row,
            )
            .at(&self.path)?;
        let mut approvals = Vec::new();
        for raw in rows {
            approvals.push(raw.at(&self.path)?.decode(self)?);
        }
        Ok(approvals)
    }

    /// Decides a pending approval. Compare-and-set: only a `Pending` request
    /// changes, so two channels answering at once cannot both win; the loser gets
    /// [`StoreError::InvalidTransition`]. Deciding to `Pending` is refused too.
    pub fn decide_approval(
        &self,
        id: i64,
        decision: ApprovalState,
        decided_by: &str,
        channel: &str,
    ) -> Result<Approval, StoreError> {
        self.decide_approval_with_reason(id, decision, decided_by, channel, None)
    }

    /// [`Store::decide_approval`], recording why the person refused (only
    /// kept with a denial; an approval or an expiry ignores it).
    pub fn decide_approval_with_reason(
        &self,
        id: i64,
        decision: ApprovalState,
        decided_by: &str,
        channel: &str,
        refusal_reason: Option<&str>,
    ) -> Result<Approval, StoreError> {
        let refusal_reason = refusal_reason.filter(|_| decision == ApprovalState::Denied);
        let refuse = |current: ApprovalState| StoreError::InvalidTransition {
            table: "approvals",
            id,
            current: current.as_str().to_owned(),
            requested: decision.as_str().to_owned(),
        };
        match decision {
            ApprovalState::Pending => return Err(refuse(ApprovalState::Pending)),
            ApprovalState::Approved | ApprovalState::Denied | ApprovalState::Expired => {}
        }
        let changed = self
            .conn
            .execute(
                "UPDATE approvals SET state = ?1, decided_by = ?2, decided_at = ?3, channel = ?4, \
                 refusal_reason = ?7 WHERE id = ?5 AND state = ?6",
                params![
                    decision.as_str(),
                    decided_by,
                    now_rfc3339(),
                    channel,
                    id,
                    ApprovalState::Pending.as_str(),
                    refusal_reason,
                ],
            )
            .at(&self.path)?;
        let approval = self
            .approval(id)?
            .ok_or_else(|| self.approval_not_found(id))?;
        if changed == 0 {
            return Err(refuse(approval.state));
        }
        Ok(approval)
    }

    fn approval_not_found(&self, id: i64) -> StoreError {
        StoreError::NotFound {
            table: "approvals",
            id,
            path: self.path.clone(),
        }
    }
}

/// An approval row before its text columns are decoded.
struct RawApproval {
    id: i64,
    job_id: Option<i64>,
    created_at: String,
    expires_at: String,
    nonce: String,
    state: String,
    argv: String,
    cwd: Option<String>,
    rule: Option<String>,
    reason: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<String>,
    channel: Option<String>,
    grant_id: Option<i64>,
    suggested_grant: Option<String>,
    refusal_reason: Option<String>,
    reversibility: Option<String>,
    grant_shape: Option<String>,
}

impl RawApproval {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawApproval> {
        Ok(RawApproval {
            id: row.get(0)?,
            job_id: row.get(1)?,
            created_at: row.get(2)?,
            expires_at: row.get(3)?,
            nonce: row.get(4)?,
            state: row.get(5)?,
            argv: row.get(6)?,
            cwd: row.get(7)?,
            rule: row.get(8)?,
            reason: row.get(9)?,
            decided_by: row.get(10)?,
            decided_at: row.get(11)?,
            channel: row.get(12)?,
            grant_id: row.get(13)?,
            suggested_grant: row.get(14)?,
            refusal_reason: row.get(15)?,
            reversibility: row.get(16)?,
            grant_shape: row.get(17)?,
        })
    }

    fn decode(self, store: &Store) -> Result<Approval, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt {
            path: store.path.clone(),
            what,
        };
        let state = ApprovalState::parse(&self.state).ok_or_else(|| {
            corrupt(format!(
                "approval {} has unknown state {:?}",
                self.id, self.state
            ))
        })?;
        let argv: Vec<String> = serde_json::from_str(&self.argv).map_err(|err| {
            corrupt(format!(
                "approval {} has an argv that is not a JSON string array: {err}",
                self.id
            ))
        })?;
        Ok(Approval {
            id: self.id,
            job_id: self.job_id,
            created_at: self.created_at,
            expires_at: self.expires_at,
            nonce: Secret::new(self.nonce),
            state,
            argv,
            cwd: self.cwd,
            rule: self.rule,
            reason: self.reason,
            decided_by: self.decided_by,
            decided_at: self.decided_at,
            channel: self.channel,
            grant_id: self.grant_id,
            suggested_grant: self.suggested_grant,
            refusal_reason: self.refusal_reason,
            reversibility: self.reversibility,
            grant_shape: self.grant_shape,
        })
    }
}
