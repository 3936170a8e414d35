//! Making a grant: the one set of checks every channel's grant passes before
//! it is stored, whether the daemon makes it (the API, the web page, a
//! notification's "grant" button) or the engine does (a person who answered
//! [`crate::approval::ApprovalAnswer::Grant`] in-process, such as the
//! usefulness suite's scripted person).
//!
//! The pattern must parse, must not cover any argv the workspace's policy
//! denies ([`leash_policy::Policy::check_grant`], whose error names that
//! argv and rule), must cover the command it answers (else the person's
//! answer would not mean what they think), and its expiry must be sane.

use std::path::{Path, PathBuf};

use leash_policy::{GrantError, GrantPattern, Policy, within_roots};
use leash_store::{AuditKind, AuditLog, Grant, GrantScope, NewGrant, StoreError};
use serde_json::json;

/// The longest grant a person can make, in minutes (a year); "until
/// revoked" is saying no minutes at all.
pub const MAX_GRANT_MINUTES: u64 = 366 * 24 * 60;

/// A grant a person asked for, before it is checked.
#[derive(Debug, Clone)]
pub struct GrantDraft<'a> {
    /// The argv pattern, in the policy's rule language.
    pub pattern: &'a str,
    /// The canonical workspace: the grant's only root.
    pub workspace: &'a Path,
    /// Which jobs it covers (one job, a trigger's, a workspace's).
    pub scope: GrantScope,
    /// Minutes until it expires; none: until revoked.
    pub minutes: Option<u64>,
    /// Who grants, as the audit log records it.
    pub granted_by: &'a str,
    /// The channel the grant came through, as the audit log records it.
    pub channel: &'a str,
    /// The approval it answers, when it came with an answer.
    pub approval_id: Option<i64>,
    /// The command the grant answers (argv, cwd), which it must cover.
    pub answers: Option<(&'a [String], &'a Path)>,
}

/// Why a grant was not made. Closed.
#[derive(Debug, thiserror::Error)]
pub enum GrantRefusal {
    /// The pattern does not parse, or would cover a denied argv.
    #[error(transparent)]
    Pattern(#[from] GrantError),
    /// The request says something impossible (names the field).
    #[error("{0}")]
    Invalid(String),
}

/// Checks `draft` against `policy` (the policy of the draft's workspace)
/// and returns the grant to store.
pub fn grant_to_make(policy: &Policy, draft: &GrantDraft<'_>) -> Result<NewGrant, GrantRefusal> {
    let pattern = GrantPattern::parse(draft.pattern)?;
    let roots: Vec<PathBuf> = vec![draft.workspace.to_path_buf()];
    policy.check_grant(&pattern, draft.workspace, &roots)?;
    if let Some((argv, cwd)) = draft.answers {
        let program = argv.first().map_or("", String::as_str);
        if !pattern.matches(program, argv) || !within_roots(argv, cwd, &roots) {
            return Err(GrantRefusal::Invalid(format!(
                "the grant pattern {:?} does not cover the command it answers",
                draft.pattern
            )));
        }
    }
    let expires_at = match draft.minutes {
        None => None,
        Some(minutes) if (1..=MAX_GRANT_MINUTES).contains(&minutes) => Some(
            jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_secs(
                    i64::try_from(minutes * 60).unwrap_or(i64::MAX),
                ))
                .map_err(|err| GrantRefusal::Invalid(format!("`minutes`: {err}")))?
                .to_string(),
        ),
        Some(minutes) => {
            return Err(GrantRefusal::Invalid(format!(
                "`minutes` must be between 1 and {MAX_GRANT_MINUTES}, found {minutes}"
            )));
        }
    };
    Ok(NewGrant {
        program: pattern.program().to_owned(),
        pattern: draft.pattern.to_owned(),
        roots: roots.iter().map(|r| r.display().to_string()).collect(),
        scope: draft.scope.clone(),
        expires_at,
        granted_by: draft.granted_by.to_owned(),
        channel: draft.channel.to_owned(),
        approval_id: draft.approval_id,
    })
}

/// Records a stored grant (`grant.created`).
pub fn record_grant_created(
    audit: &AuditLog,
    job_id: Option<i64>,
    grant: &Grant,
) -> Result<(), StoreError> {
    audit.append(job_id, AuditKind::GrantCreated, json!({"grant": grant}))?;
    Ok(())
}

/// Makes the grant a person asked for by answering "grant" to `approval`
/// in-process (the daemon's channels go through its own API path, which
/// runs the same [`grant_to_make`]). A refused grant is audited as
/// `grant.refused` with the reason (which names a denied argv it would have
/// covered); the answer still approves this one command, which the policy
/// did not deny. Returns the grant made, if any.
pub(crate) fn grant_from_answer(
    runner: &crate::CommandRunner<'_>,
    request: &crate::CommandRequest,
    approval: &crate::approval::ApprovalRequest,
    terms: crate::approval::GrantTerms,
    by: &str,
    channel: &str,
) -> Result<Option<Grant>, crate::EngineError> {
    use crate::approval::GrantScopeKind;
    let refused = |why: String| -> Result<Option<Grant>, crate::EngineError> {
        tracing::warn!(argv = ?request.argv, %why, "a grant was refused");
        runner.audit.append(
            request.job_id,
            AuditKind::GrantRefused,
            json!({"pattern": approval.grant_shape, "argv": request.argv, "by": by,
                   "channel": channel, "error": why}),
        )?;
        Ok(None)
    };
    let Some(pattern) = approval.grant_shape.as_deref() else {
        return refused("the command has no shape a grant could name".to_owned());
    };
    let workspace = match runner.workspace.canonicalize() {
        Ok(dir) => dir,
        Err(err) => {
            return refused(format!("workspace {}: {err}", runner.workspace.display()));
        }
    };
    let scope = match (terms.scope, request.job_id, runner.trigger) {
        (GrantScopeKind::Job, Some(id), _) => GrantScope::Job(id),
        (GrantScopeKind::Trigger, _, Some(name)) => GrantScope::Trigger(name.to_owned()),
        (GrantScopeKind::Workspace, _, _) => GrantScope::Workspace(workspace.display().to_string()),
        (GrantScopeKind::Job, None, _) => {
            return refused("a job-scoped grant needs a job".to_owned());
        }
        (GrantScopeKind::Trigger, _, None) => {
            return refused(
                "a trigger-scoped grant needs a trigger (this job has none)".to_owned(),
            );
        }
    };
    let draft = GrantDraft {
        pattern,
        workspace: &workspace,
        scope,
        minutes: terms.minutes,
        granted_by: by,
        channel,
        approval_id: None,
        answers: Some((&request.argv, &request.cwd)),
    };
    let new = match grant_to_make(runner.policy, &draft) {
        Ok(new) => new,
        Err(err) => return refused(err.to_string()),
    };
    let grant = leash_store::Store::open(runner.grants.database())?.insert_grant(&new)?;
    record_grant_created(runner.audit, request.job_id, &grant)?;
    Ok(Some(grant))
}
