//! Making and revoking grants, from the API, the web page, the CLI (through
//! the API) and a notification button (an approval answered "grant for this
//! job"). Every grant is checked against the policy of the workspace it is
//! for before it is stored ([`leash_policy::Policy::check_grant`]: a pattern
//! that would cover a denied argv is refused, naming it), and every creation
//! and revocation is audited (`grant.created`, `grant.revoked`); the engine
//! audits each use (`grant.used`).

use leash_store::AuditKind;
use std::path::{Path, PathBuf};

use leash_core::{GrantDraft, GrantRefusal, grant_to_make, record_grant_created};
use leash_policy::{GrantError, Policy, suggest_grant};
use leash_store::{Approval, ApprovalState, Grant, GrantScope, StoreError};
use serde::Deserialize;
use serde_json::json;

use crate::approvals::{DecideError, RemoteAnswer};
use crate::context::DaemonContext;
use crate::error::DaemonError;
use crate::secret::secrets_match;
use crate::worker::job_workspace;

/// Which scope a person picked (the engine's type: an in-process "grant"
/// answer picks from the same closed list).
pub use leash_core::approval::GrantScopeKind as ScopeKind;

/// What a person asks for when granting.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantSpec {
    /// The argv pattern; default: the shape leash suggests for the approval.
    pub pattern: Option<String>,
    /// Default `job`.
    pub scope: Option<ScopeKind>,
    /// For a grant made without an approval: the job / trigger / workspace.
    pub job_id: Option<i64>,
    /// For scope `trigger` without an approval: the trigger's name.
    pub trigger: Option<String>,
    /// For scope `workspace` without an approval: the workspace path.
    pub workspace: Option<String>,
    /// Minutes until it expires; none: until revoked.
    pub minutes: Option<u64>,
    /// Who grants (`POST /v1/grants`; an approval's answer names its own).
    pub by: Option<String>,
}

/// Why a grant was not made. Closed; the API maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum GrantRefused {
    /// The pattern does not parse or would cover a denied argv (400).
    #[error(transparent)]
    Pattern(#[from] GrantError),
    /// The request does not say enough (or says something impossible) (400).
    #[error("{0}")]
    Invalid(String),
    /// Answering the approval failed (404/403/409).
    #[error(transparent)]
    Decide(#[from] DecideError),
    /// The daemon failed while recording the grant (500).
    #[error(transparent)]
    Daemon(#[from] DaemonError),
}

impl From<GrantRefusal> for GrantRefused {
    fn from(err: GrantRefusal) -> GrantRefused {
        match err {
            GrantRefusal::Pattern(err) => GrantRefused::Pattern(err),
            GrantRefusal::Invalid(why) => GrantRefused::Invalid(why),
        }
    }
}

impl From<StoreError> for GrantRefused {
    fn from(err: StoreError) -> GrantRefused {
        GrantRefused::Daemon(DaemonError::Store(err))
    }
}

impl DaemonContext {
    /// Makes a grant. `approval` is the request it answers, if any (its job
    /// gives the scope and workspace).
    pub fn create_grant(
        &self,
        spec: &GrantSpec,
        approval: Option<&Approval>,
        by: &str,
        channel: &str,
    ) -> Result<Grant, GrantRefused> {
        let job_id = approval.and_then(|a| a.job_id).or(spec.job_id);
        let job = match job_id {
            Some(id) => Some(
                self.with_store(|store| store.job(id))?
                    .ok_or_else(|| GrantRefused::Invalid(format!("job {id} does not exist")))?,
            ),
            None => None,
        };
        let workspace = match (&spec.workspace, &job) {
            (Some(dir), _) => PathBuf::from(dir),
            (None, Some(job)) => job_workspace(self, job),
            (None, None) => self
                .loaded
                .config
                .security
                .workspace
                .clone()
                .or_else(|| std::env::current_dir().ok())
                .unwrap_or_else(|| PathBuf::from("/")),
        };
        let workspace = workspace.canonicalize().map_err(|err| {
            GrantRefused::Invalid(format!("workspace {}: {err}", workspace.display()))
        })?;
        let scope = match spec.scope.unwrap_or(ScopeKind::Job) {
            ScopeKind::Job => GrantScope::Job(job_id.ok_or_else(|| {
                GrantRefused::Invalid("a job-scoped grant needs `job_id`".to_owned())
            })?),
            ScopeKind::Trigger => GrantScope::Trigger(
                spec.trigger
                    .clone()
                    .or_else(|| job.as_ref().and_then(|j| j.trigger_name.clone()))
                    .ok_or_else(|| {
                        GrantRefused::Invalid(
                            "a trigger-scoped grant needs `trigger` (this job has no trigger)"
                                .to_owned(),
                        )
                    })?,
            ),
            ScopeKind::Workspace => GrantScope::Workspace(workspace.display().to_string()),
        };
        let text = match (&spec.pattern, approval) {
            (Some(text), _) => text.clone(),
            (None, Some(approval)) => approval.suggested_grant.clone().unwrap_or_else(|| {
                let program = approval.argv.first().map_or("", String::as_str);
                suggest_grant(program, &approval.argv)
            }),
            (None, None) => {
                return Err(GrantRefused::Invalid("`pattern` is required".to_owned()));
            }
        };
        let cwd = approval
            .and_then(|a| a.cwd.as_deref())
            .map_or(workspace.as_path(), Path::new);
        let draft = GrantDraft {
            pattern: &text,
            workspace: &workspace,
            scope,
            minutes: spec.minutes,
            granted_by: by,
            channel,
            approval_id: approval.map(|a| a.id),
            // The grant must cover the request it answers, or the person's
            // answer would not mean what they think it means.
            answers: approval.map(|a| (a.argv.as_slice(), cwd)),
        };
        let new = grant_to_make(&self.policy_for(&workspace)?, &draft)?;
        let grant = self.with_store(|store| store.insert_grant(&new))?;
        record_grant_created(&self.audit, job_id, &grant).map_err(DaemonError::from)?;
        tracing::info!(grant = grant.id, pattern = %grant.pattern, "grant created");
        Ok(grant)
    }

    /// Revokes a grant (a second revocation is a conflict).
    pub fn revoke_grant(&self, id: i64, by: &str, channel: &str) -> Result<Grant, DaemonError> {
        let grant = self.with_store(|store| store.revoke_grant(id, by))?;
        self.audit.append(
            None,
            AuditKind::GrantRevoked,
            json!({"grant_id": id, "pattern": grant.pattern, "by": by, "channel": channel}),
        )?;
        Ok(grant)
    }

    /// Answers approval `id` "yes, and grant this shape": the grant is made
    /// first (so a refused grant leaves the request pending), then the
    /// approval is decided; if another channel answered meanwhile the grant
    /// is revoked again.
    pub fn approve_with_grant(
        &self,
        id: i64,
        nonce: &str,
        spec: &GrantSpec,
        channel: &str,
        by: &str,
    ) -> Result<(Approval, Grant), GrantRefused> {
        let approval = self
            .with_store(|store| store.approval(id))?
            .ok_or(DecideError::NotFound { id })?;
        if !secrets_match(approval.nonce.expose(), nonce)
            || approval.state != ApprovalState::Pending
        {
            // Refused and audited exactly as a plain answer would be.
            self.decide_approval(id, nonce, RemoteAnswer::Approve, channel, by)?;
        }
        let grant = self.create_grant(spec, Some(&approval), by, channel)?;
        match self.decide_approval(id, nonce, RemoteAnswer::Approve, channel, by) {
            Ok(decided) => {
                self.with_store(|store| store.link_approval_grant(id, grant.id))?;
                let decided = self
                    .with_store(|store| store.approval(id))?
                    .unwrap_or(decided);
                Ok((decided, grant))
            }
            Err(err) => {
                self.revoke_grant(
                    grant.id,
                    "leash: the approval was already answered",
                    channel,
                )?;
                Err(err.into())
            }
        }
    }

    /// The policy of `workspace`, as the engine there would judge.
    fn policy_for(&self, workspace: &Path) -> Result<Policy, GrantRefused> {
        let settings = leash_core::policy_settings(&self.loaded, workspace)
            .map_err(|err| GrantRefused::Invalid(format!("the policy does not load: {err}")))?;
        Policy::load(settings)
            .map_err(|err| GrantRefused::Invalid(format!("the policy does not load: {err}")))
    }
}
