//! The engine's view of the person's grants (stored in the state database by
//! the daemon, the CLI or the web page): which grant, if any, covers a
//! command that would otherwise wait for a person, and which grant to
//! suggest after the same shape was approved `approvals.suggest_after` times.
//!
//! The runner consults this only for a command whose gate says "needs
//! approval" and whose policy decision is not `deny` (see
//! [`crate::CommandRunner::judge`]), so a grant can never override a deny or
//! the blacklist, whatever its pattern says.

use std::path::{Path, PathBuf};

use leash_policy::{GrantPattern, Verdict, suggest_grant, within_roots};
use leash_store::{Grant, GrantScope, Store};

use crate::error::EngineError;

/// Where a command runs, for matching grant scopes.
#[derive(Debug, Clone, Copy)]
pub struct GrantContext<'a> {
    /// The job (scope `job: ID`).
    pub job_id: Option<i64>,
    /// The trigger that made the job (scope `trigger: NAME`).
    pub trigger: Option<&'a str>,
    /// The job's workspace (scope `workspace: PATH`).
    pub workspace: &'a Path,
}

/// The grants in one state database.
#[derive(Debug, Clone)]
pub struct GrantBook {
    db: PathBuf,
}

impl GrantBook {
    /// The grants in the state database at `db`; opened per lookup, so a grant
    /// given in another process counts at once.
    pub fn new(db: PathBuf) -> GrantBook {
        GrantBook { db }
    }

    /// The state database the grants are read from.
    pub fn database(&self) -> &Path {
        &self.db
    }

    /// The active grant covering `argv` (judged as `verdict`) at `cwd`, and
    /// counts its use. A grant whose pattern no longer parses covers nothing.
    pub fn covering(
        &self,
        verdict: &Verdict,
        argv: &[String],
        cwd: &Path,
        context: GrantContext<'_>,
    ) -> Result<Option<Grant>, EngineError> {
        let Some(command) = &verdict.command else {
            return Ok(None);
        };
        let store = Store::open(&self.db)?;
        let found = store.grants(true)?.into_iter().find(|grant| {
            in_scope(&grant.scope, context) && {
                match GrantPattern::parse(&grant.pattern) {
                    Ok(pattern) => {
                        let roots: Vec<PathBuf> = if grant.roots.is_empty() {
                            vec![context.workspace.to_path_buf()]
                        } else {
                            grant.roots.iter().map(PathBuf::from).collect()
                        };
                        pattern.matches(&command.identity, argv) && within_roots(argv, cwd, &roots)
                    }
                    Err(err) => {
                        tracing::warn!(grant = grant.id, error = %err, "a stored grant does not parse; it covers nothing");
                        false
                    }
                }
            }
        });
        if let Some(grant) = &found {
            store.note_grant_used(grant.id)?;
        }
        Ok(found)
    }

    /// The grant to suggest for `argv` (judged as `identity`) when the person
    /// has approved that shape at least `after` times before (0: never).
    pub fn suggestion(
        &self,
        identity: &str,
        argv: &[String],
        after: u64,
    ) -> Result<Option<String>, EngineError> {
        if after == 0 {
            return Ok(None);
        }
        let shape = suggest_grant(identity, argv);
        let store = Store::open(&self.db)?;
        let seen = store
            .approved_argvs()?
            .iter()
            .filter(|earlier| {
                earlier
                    .first()
                    .is_some_and(|program| suggest_grant(program, earlier) == shape)
            })
            .count();
        Ok((u64::try_from(seen).unwrap_or(u64::MAX) >= after).then_some(shape))
    }
}

fn in_scope(scope: &GrantScope, context: GrantContext<'_>) -> bool {
    match scope {
        GrantScope::Workspace(dir) => Path::new(dir) == context.workspace,
        GrantScope::Trigger(name) => context.trigger == Some(name.as_str()),
        GrantScope::Job(id) => context.job_id == Some(*id),
    }
}
