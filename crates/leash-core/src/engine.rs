//! Everything needed to judge and run commands for one workspace, assembled
//! from a loaded config: the policy, the probed sandbox, the audit log, the
//! sandbox template and the learned-rules file. `leash exec` builds one per
//! invocation; the daemon keeps one per job workspace and runs job after job
//! on it, so an engine holds only what every job of its workspace shares:
//! what belongs to one job (its mode, its repeat guard, its trigger) is a
//! [`JobParams`] passed with each call.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use leash_config::{Durability as ConfigDurability, ExecutionMode, LoadedConfig};
use leash_policy::Policy;
use leash_sandbox::{Executor, probe};
use leash_store::{AuditLog, AuditOptions, Durability};

use crate::approval::Approver;
use crate::command_runner::CommandRunner;
use crate::control_files::{ControlGuard, ControlTargets};
use crate::error::EngineError;
use crate::grants::GrantBook;
use crate::job_params::JobParams;
use crate::learned_rules::LearnedRulesFile;
use crate::policy_settings::policy_settings;
use crate::sandbox_template::SandboxTemplate;

/// The assembled engine for one workspace.
#[derive(Debug)]
pub struct Engine {
    /// The compiled policy (config rules, seed lists, learned rules).
    pub policy: Policy,
    /// Private: commands reach it only through [`CommandRunner::execute`],
    /// with a [`crate::Cleared`] proof.
    pub(crate) executor: Executor,
    /// Shared with whoever else appends in this process (the daemon's intake
    /// and its worker share one handle, so their appends share transactions
    /// and fsyncs, and records held by one are written by the other's next
    /// durable point).
    pub audit: Arc<AuditLog>,
    /// The sandbox settings every command gets (limits, roots, layers).
    pub sandbox: SandboxTemplate,
    /// Where "always"/"never" answers are kept.
    pub learned_rules: LearnedRulesFile,
    /// `security.execution_mode`: the mode of a job that names none. Never
    /// changed per job: a job's own mode is in its [`JobParams`].
    pub default_mode: ExecutionMode,
    /// `approvals.expiry_s`.
    pub approval_expiry: Duration,
    /// The workspace it judges for (a job's own, or `security.workspace`),
    /// canonical: the default read+write root.
    pub workspace: PathBuf,
    /// Control files recorded before and checked after every command.
    pub control: ControlGuard,
    /// The rollback journal (pre-images before every change; `leash undo`).
    pub journal: leash_undo::Journal,
    /// The person's grants (in the state database).
    pub grants: GrantBook,
    /// `approvals.suggest_after`.
    pub suggest_after: u64,
    /// `approvals.learn_from_refusals`: the person's reason goes back to the
    /// model, and a trigger's refused shapes are listed in its prompts.
    pub learn_from_refusals: bool,
}

/// Opens the audit log the config describes (database in the state dir, JSONL
/// mirror at `logging.audit_log`).
pub fn open_audit_log(loaded: &LoadedConfig) -> Result<AuditLog, EngineError> {
    let logging = &loaded.config.logging;
    let durability = match logging.audit_durability {
        ConfigDurability::Fsync => Durability::Fsync,
        ConfigDurability::Batched => Durability::Batched,
    };
    let options = AuditOptions {
        mirror: logging.audit_log.clone(),
        durability,
        rotate_bytes: logging.audit_rotate_mb.saturating_mul(1024 * 1024),
    };
    ensure_private_dir(&loaded.paths.state_dir)?;
    Ok(AuditLog::open(&loaded.paths.database_file(), options)?)
}

/// Opens the rollback journal the config describes: its tables in the state
/// database, its pre-images in `<state dir>/undo` (mode 0700).
pub fn open_journal(loaded: &LoadedConfig) -> Result<leash_undo::Journal, EngineError> {
    let undo = &loaded.config.undo;
    let mb = |n: u64| n.saturating_mul(1024 * 1024);
    let settings = leash_undo::UndoSettings {
        max_bytes: mb(undo.max_mb),
        keep_days: undo.keep_days,
        max_file_bytes: mb(undo.max_file_mb),
        approve_irreversible: undo.approve_irreversible,
    };
    ensure_private_dir(&loaded.paths.state_dir)?;
    Ok(leash_undo::Journal::open(
        &loaded.paths.database_file(),
        &loaded.paths.state_dir.join("undo"),
        settings,
    )?)
}

/// Creates a directory (and parents) with mode 0700 if it is missing.
pub fn ensure_private_dir(dir: &Path) -> Result<(), EngineError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| EngineError::Dir {
            path: dir.to_path_buf(),
            source,
        })
}

/// The control files of an engine: repositories in the write roots, leash's
/// config, rules, learned rules and token, and `security.protected`.
fn control_targets(
    loaded: &LoadedConfig,
    workspace: &Path,
    sandbox: &SandboxTemplate,
) -> ControlTargets {
    let security = &loaded.config.security;
    let mut leash_files = vec![
        loaded.location.path.clone(),
        security.learned_rules_path(&loaded.paths),
        loaded.paths.api_token_file(),
    ];
    leash_files.extend(loaded.source.iter().cloned());
    leash_files.extend(security.rules.iter().cloned());
    ControlTargets {
        write_roots: sandbox.write_roots().to_vec(),
        workspace: workspace.to_path_buf(),
        leash_files,
        protected: ControlTargets::resolve_protected(
            &security.protected_entries(),
            &loaded.paths.home,
            workspace,
        ),
    }
}

impl Engine {
    /// Builds the engine for `workspace` (made canonical: the policy compares
    /// canonical paths). A policy that does not load (bad pattern, failing rule
    /// example, unreadable rules file) is an error: nothing runs without one.
    pub fn open(loaded: &LoadedConfig, workspace: &Path) -> Result<Engine, EngineError> {
        Engine::open_with(loaded, workspace, None)
    }

    /// [`Engine::open`] with an audit log handle already open in this process.
    pub fn open_sharing_audit(
        loaded: &LoadedConfig,
        workspace: &Path,
        audit: Arc<AuditLog>,
    ) -> Result<Engine, EngineError> {
        Engine::open_with(loaded, workspace, Some(audit))
    }

    fn open_with(
        loaded: &LoadedConfig,
        workspace: &Path,
        audit: Option<Arc<AuditLog>>,
    ) -> Result<Engine, EngineError> {
        let workspace = workspace
            .canonicalize()
            .map_err(|source| EngineError::Dir {
                path: workspace.to_path_buf(),
                source,
            })?;
        let settings = policy_settings(loaded, &workspace)?;
        let search_path = settings.search_path.clone();
        let policy = Policy::load(settings)?;
        let sandbox = SandboxTemplate::from_config(loaded, &workspace, &search_path);
        ensure_private_dir(sandbox.tmp_base())?;
        let audit = match audit {
            Some(shared) => shared,
            None => Arc::new(open_audit_log(loaded)?),
        };
        let learned_rules =
            LearnedRulesFile::new(loaded.config.security.learned_rules_path(&loaded.paths));
        let control = ControlGuard::new(control_targets(loaded, &workspace, &sandbox));
        let journal = open_journal(loaded)?;
        Ok(Engine {
            policy,
            executor: Executor::new(probe()),
            audit,
            sandbox,
            learned_rules,
            default_mode: loaded.config.security.execution_mode,
            approval_expiry: Duration::from_secs(loaded.config.approvals.expiry_s),
            workspace,
            control,
            journal,
            grants: GrantBook::new(loaded.paths.database_file()),
            suggest_after: loaded.config.approvals.suggest_after,
            learn_from_refusals: loaded.config.approvals.learn_from_refusals,
        })
    }

    /// The parameters of a job that brings none of its own: the configured
    /// mode, no trigger, nothing it must ask before repeating.
    pub fn default_params(&self) -> JobParams {
        JobParams::in_mode(self.default_mode)
    }

    /// A runner for the commands of the job `job`, asking `approver` when a
    /// person is needed.
    pub fn runner<'a>(
        &'a self,
        job: &'a JobParams,
        approver: &'a dyn Approver,
    ) -> CommandRunner<'a> {
        CommandRunner {
            policy: &self.policy,
            executor: &self.executor,
            audit: &self.audit,
            approver,
            mode: job.mode,
            sandbox: &self.sandbox,
            learned_rules: &self.learned_rules,
            approval_expiry: self.approval_expiry,
            must_ask: &job.must_ask,
            control: &self.control,
            journal: Some(&self.journal),
            grants: &self.grants,
            trigger: job.trigger.as_deref(),
            workspace: &self.workspace,
            suggest_after: self.suggest_after,
            learn_from_refusals: self.learn_from_refusals,
        }
    }
}
