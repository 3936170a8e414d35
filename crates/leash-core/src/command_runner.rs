//! One proposed command through the whole leash: policy → mode gate → approval
//! → sandbox → audit. `leash exec` uses it directly; the agent loop uses it for
//! every `run` action the model proposes.
//!
//! Audit records written, in order (each with the job id when there is one):
//! `command.decision` (argv, cwd, mode, decision, rule, reason, gate) always;
//! `approval.requested` + `approval.answered|expired|unavailable` when a person
//! is asked; `learned_rule.written` after "always"/"never"; `grant.used` when
//! a person's grant stood in for asking; `approval.void` when what an approval
//! covered changed before the run (then nothing runs); `command.started`
//! *before* the child is spawned (so a crash leaves a start without a result,
//! which the daemon reports as "outcome unknown" instead of re-running it);
//! `command.finished` or `command.failed` afterwards; then one
//! `security.tamper` per control file the command changed without approval
//! (reverted; see [`crate::control_files`]) or `security.control_changed`
//! when a person approved exactly this command.
//!
//! Durability: in [`CommandRunner::run`], a decision that lets the command run
//! straight away is held back and written together with `command.started`
//! (or `command.failed`) with [`AuditLog::append_group`] — one transaction and
//! one fsync before the spawn instead of one each. Every other record is made
//! durable when it is written.

use std::path::PathBuf;
use std::time::Duration;

use leash_config::ExecutionMode;
use leash_policy::{Decision, Policy, ResolvedCommand, Verdict};
use leash_sandbox::{ExecOutcome, Executor};
use leash_store::{AuditEntry, AuditLog};
use leash_undo::Barrier;
use serde_json::json;

use crate::approval::{
    ApprovalAnswer, ApprovalBinding, ApprovalOutcome, ApprovalRequest, Approver,
};
use crate::control_files::{Before, ControlGuard, Tamper, tamper_reason};
use crate::error::EngineError;
use crate::grants::{GrantBook, GrantContext};
use crate::learned_rules::LearnedRulesFile;
use crate::mode_gate::{GateOutcome, gate};
use crate::outcome_json::outcome_payload;
use crate::sandbox_template::SandboxTemplate;
use crate::undo_hook;

/// Rule ids of learned exact-argv allows start with this (see
/// `leash_policy::render_learned_rules`).
const LEARNED_ALLOW_PREFIX: &str = "learned.allow.";

fn is_learned_allow(verdict: &Verdict) -> bool {
    verdict.decision == Decision::Allow && verdict.rule.starts_with(LEARNED_ALLOW_PREFIX)
}

/// One command to judge and maybe run.
#[derive(Debug, Clone)]
pub struct CommandRequest {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub job_id: Option<i64>,
}

/// The span of one command: its job (also known from the daemon's job span,
/// but `leash ask` and `leash exec` have none) and the program it names.
fn command_span(request: &CommandRequest) -> tracing::Span {
    tracing::info_span!(
        "command",
        job = ?request.job_id,
        argv0 = %request.argv.first().map(String::as_str).unwrap_or(""),
    )
}

/// Why a command did not run. Closed: every caller must handle each.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotRunReason {
    /// The policy denied it.
    Denied,
    /// A person said no (or never).
    Refused,
    /// Nobody answered before the expiry.
    ApprovalExpired,
    /// Approval was needed and no person could be reached.
    NoApprover,
    /// Dry run: recorded as "would run" / "would ask".
    DryRun,
    /// Audit-only mode: recorded, never executed.
    AuditOnly,
    /// The sandbox refused (a required layer is missing) or the spawn failed.
    SandboxFailed,
    /// A person approved it, but what the approval covered (program file,
    /// script contents, cwd, environment) changed before it could run.
    ApprovalVoid,
}

/// What happened to one command.
#[derive(Debug)]
pub struct CommandReport {
    pub verdict: Verdict,
    pub mode: ExecutionMode,
    pub gate: GateOutcome,
    pub approval: Option<ApprovalOutcome>,
    /// Present when the command was executed.
    pub outcome: Option<ExecOutcome>,
    /// Present when it was not.
    pub not_run: Option<NotRunReason>,
    /// The sandbox's error, when it refused or failed to spawn.
    pub error: Option<String>,
    /// The learned-rules file written after an "always"/"never" answer.
    pub learned_rule_file: Option<PathBuf>,
    /// Control files the command changed without approval (reverted, recorded
    /// as `security.tamper`); the job fails when this is not empty.
    pub tampered: Vec<Tamper>,
    /// The rollback journal's plan: how reversible the command is and what
    /// it journals before running (`None` without a journal or a program).
    pub undo: Option<leash_undo::Plan>,
    /// The grant that stood in for asking a person, if one did.
    pub grant: Option<i64>,
    /// What the person's approval covered (checked again before the run).
    pub binding: Option<ApprovalBinding>,
}

impl CommandReport {
    /// Why the job must fail because of this command, if it must.
    pub fn tamper_reason(&self) -> Option<String> {
        (!self.tampered.is_empty()).then(|| tamper_reason(&self.tampered))
    }
}

/// Everything the runner needs, borrowed for one or many commands.
#[derive(Debug)]
pub struct CommandRunner<'a> {
    pub policy: &'a Policy,
    pub executor: &'a Executor,
    pub audit: &'a AuditLog,
    pub approver: &'a dyn Approver,
    pub mode: ExecutionMode,
    pub sandbox: &'a SandboxTemplate,
    pub learned_rules: &'a LearnedRulesFile,
    pub approval_expiry: Duration,
    /// Argvs whose earlier run has an unknown outcome (started before a crash,
    /// no result recorded): never repeated without a person's approval.
    pub must_ask: &'a [Vec<String>],
    /// Control files checked around every execution.
    pub control: &'a ControlGuard,
    /// The rollback journal: pre-images saved before every change.
    pub journal: Option<&'a leash_undo::Journal>,
    /// The person's grants, and what the job's scope is for them.
    pub grants: &'a GrantBook,
    pub trigger: Option<&'a str>,
    pub workspace: &'a std::path::Path,
    /// `approvals.suggest_after`.
    pub suggest_after: u64,
    /// `approvals.learn_from_refusals` (see [`crate::Engine`]).
    pub learn_from_refusals: bool,
}

impl CommandRunner<'_> {
    /// Judges, gates, asks, runs and records one command. Errors are only for
    /// leash's own failures (the audit log could not be written): a denied or
    /// failed command is a normal report.
    pub fn run(&self, request: &CommandRequest) -> Result<CommandReport, EngineError> {
        // Log lines about this command (policy, approval, sandbox) say which
        // command and which job they belong to.
        let _in_command = command_span(request).entered();
        let (mut report, decision) = self.judge_holding_back(request, true)?;
        if report.not_run.is_none() {
            self.execute_after(request, &mut report, decision)?;
        } else if let Some(decision) = decision {
            self.audit.append_group(vec![decision])?;
        }
        Ok(report)
    }

    /// Everything before execution: the policy decision, the mode gate and, when
    /// needed, a person's approval, all recorded. The command may run exactly
    /// when the returned report's `not_run` is `None`; callers that carry out an
    /// action themselves (writing a file) use this and then record the result.
    pub fn judge(&self, request: &CommandRequest) -> Result<CommandReport, EngineError> {
        let _in_command = command_span(request).entered();
        Ok(self.judge_holding_back(request, false)?.0)
    }

    /// [`CommandRunner::judge`]; with `hold_back`, a decision that lets the
    /// command run without asking is returned unwritten, for the caller to
    /// write in one group with what follows it.
    fn judge_holding_back(
        &self,
        request: &CommandRequest,
        hold_back: bool,
    ) -> Result<(CommandReport, Option<AuditEntry>), EngineError> {
        let verdict = self.policy.check_argv_at(&request.argv, &request.cwd);
        let (mut report, held_back) =
            self.judge_verdict_holding_back(request, verdict, hold_back)?;
        // Only a command the policy resolved can run: the executor runs the
        // canonical file the policy judged, never a PATH lookup.
        if report.not_run.is_none() && report.verdict.command.is_none() {
            report.not_run = Some(NotRunReason::Denied);
            report.error = Some("the policy did not resolve a program".to_owned());
        }
        Ok((report, held_back))
    }

    /// [`CommandRunner::judge`] with the policy's verdict already made (the
    /// model's file actions are judged as file actions, see
    /// `leash_policy::FileAction`, then gated, asked and recorded the same way).
    /// A verdict without a resolved program may still be carried out by leash
    /// itself (`write_file`); [`CommandRunner::execute`] refuses to run one.
    pub fn judge_verdict(
        &self,
        request: &CommandRequest,
        verdict: Verdict,
    ) -> Result<CommandReport, EngineError> {
        Ok(self.judge_verdict_holding_back(request, verdict, false)?.0)
    }

    /// [`CommandRunner::judge_verdict`]; `hold_back` as in
    /// [`CommandRunner::judge_holding_back`].
    fn judge_verdict_holding_back(
        &self,
        request: &CommandRequest,
        verdict: Verdict,
        hold_back: bool,
    ) -> Result<(CommandReport, Option<AuditEntry>), EngineError> {
        let mut gate_outcome = gate(self.mode, verdict.decision);
        // A person already answered "always" for exactly this argv: in prompt
        // mode that answer stands in for asking again. (It never turns a deny
        // into anything else: the policy decided `allow` here.)
        if gate_outcome == GateOutcome::NeedsApproval && is_learned_allow(&verdict) {
            gate_outcome = GateOutcome::Run;
        }
        // An argv that may already have run once (its outcome is unknown after
        // a crash) is asked about even where it would otherwise just run.
        let outcome_unknown = self.must_ask.contains(&request.argv);
        if outcome_unknown && gate_outcome == GateOutcome::Run {
            gate_outcome = GateOutcome::NeedsApproval;
        }
        let undo = match self.journal {
            Some(journal) if verdict.decision != Decision::Deny => {
                let plan =
                    undo_hook::plan(journal, self.policy, &verdict, &request.argv, &request.cwd);
                gate_outcome = undo_hook::gate(journal, plan.as_ref(), gate_outcome);
                plan
            }
            Some(_) | None => None,
        };
        // A person's standing grant answers for them (after the undo gate: a
        // grant is a person's approval, so it also covers an irreversible
        // action that `undo.approve_irreversible` sends to a person).
        let grant = self.grant_for(request, &verdict, gate_outcome, outcome_unknown)?;
        if grant.is_some() {
            gate_outcome = GateOutcome::Run;
        }
        let decision = AuditEntry::new(
            request.job_id,
            "command.decision",
            json!({
                "argv": request.argv,
                "cwd": request.cwd,
                "mode": self.mode.as_str(),
                "decision": verdict.decision.as_str(),
                "rule": verdict.rule,
                "reason": verdict.reason,
                "program": verdict.command.as_ref().map(|c| &c.program),
                "identity": verdict.command.as_ref().map(|c| &c.identity),
                "gate": gate_outcome.as_str(),
                "outcome_unknown_before": outcome_unknown,
                "undo": undo.as_ref().map(leash_undo::Plan::to_json),
            }),
        );
        // A grant's use is recorded right after the decision, so a decision
        // that a grant let through is not held back.
        let held_back = if hold_back && gate_outcome == GateOutcome::Run && grant.is_none() {
            Some(decision)
        } else {
            self.audit.append_group(vec![decision])?;
            None
        };
        if let Some(grant) = &grant {
            self.audit.append(
                request.job_id,
                "grant.used",
                json!({"grant_id": grant.id, "pattern": grant.pattern, "scope": grant.scope,
                       "argv": request.argv, "cwd": request.cwd}),
            )?;
        }
        let mut report = CommandReport {
            verdict,
            mode: self.mode,
            gate: gate_outcome,
            approval: None,
            outcome: None,
            not_run: None,
            error: None,
            learned_rule_file: None,
            tampered: Vec::new(),
            undo,
            grant: grant.map(|g| g.id),
            binding: None,
        };
        report.not_run = match gate_outcome {
            GateOutcome::Run => None,
            GateOutcome::NeedsApproval => {
                self.ask_person(request, &mut report)?;
                report.not_run.clone()
            }
            GateOutcome::Refused => Some(NotRunReason::Denied),
            GateOutcome::WouldRun | GateOutcome::WouldAsk => Some(NotRunReason::DryRun),
            GateOutcome::RecordedOnly => Some(NotRunReason::AuditOnly),
        };
        Ok((report, held_back))
    }

    /// The person's grant that covers this command instead of asking: only
    /// for a command that needs approval, whose policy decision is not deny,
    /// whose earlier outcome is known, and which does not ask for the network
    /// (the network is only ever opened for one answered request).
    fn grant_for(
        &self,
        request: &CommandRequest,
        verdict: &Verdict,
        gate_outcome: GateOutcome,
        outcome_unknown: bool,
    ) -> Result<Option<leash_store::Grant>, EngineError> {
        let eligible = match verdict.decision {
            Decision::Allow | Decision::Ask => {
                gate_outcome == GateOutcome::NeedsApproval
                    && !outcome_unknown
                    && !verdict.network_if_approved
            }
            Decision::Deny => false,
        };
        if !eligible {
            return Ok(None);
        }
        let context = GrantContext {
            job_id: request.job_id,
            trigger: self.trigger,
            workspace: self.workspace,
        };
        self.grants
            .covering(verdict, &request.argv, &request.cwd, context)
    }

    /// Asks a person and sets `report.not_run` from the answer. Records the
    /// request, the answer and any learned rule.
    fn ask_person(
        &self,
        request: &CommandRequest,
        report: &mut CommandReport,
    ) -> Result<(), EngineError> {
        let binding = report.verdict.command.as_ref().map(|command| {
            let env = self
                .sandbox
                .spec_for(command, &request.cwd)
                .map(|spec| spec.env)
                .unwrap_or_default();
            ApprovalBinding::bind(&request.argv, &request.cwd, &command.program, &env)
        });
        let suggested_grant = match &report.verdict.command {
            Some(command) => {
                self.grants
                    .suggestion(&command.identity, &request.argv, self.suggest_after)?
            }
            None => None,
        };
        let approval = ApprovalRequest {
            argv: request.argv.clone(),
            program: report.verdict.command.as_ref().map(|c| c.program.clone()),
            cwd: request.cwd.clone(),
            decision: report.verdict.decision,
            rule: report.verdict.rule.clone(),
            reason: undo_hook::prompt_reason(&report.verdict.reason, report.undo.as_ref()),
            expires_in: self.approval_expiry,
            binding: binding.clone(),
            suggested_grant,
            reversibility: report.undo.as_ref().map(|plan| plan.class),
            grant_shape: report
                .verdict
                .command
                .as_ref()
                .map(|command| leash_policy::suggest_grant(&command.identity, &request.argv)),
        };
        report.binding = binding;
        self.audit.append(
            request.job_id,
            "approval.requested",
            json!({
                "argv": approval.argv,
                "cwd": approval.cwd,
                "rule": approval.rule,
                "reason": approval.reason,
                "expires_in_s": approval.expires_in.as_secs(),
                "binding": approval.binding,
                "suggested_grant": approval.suggested_grant,
                "reversibility": approval.reversibility,
                "grant_shape": approval.grant_shape,
            }),
        )?;
        let mut outcome = self.approver.ask(&approval);
        let kind = match &outcome {
            ApprovalOutcome::Answered { .. } => "approval.answered",
            ApprovalOutcome::Expired { .. } => "approval.expired",
            ApprovalOutcome::Unavailable { .. } => "approval.unavailable",
        };
        self.audit
            .append(request.job_id, kind, serde_json::to_value(&outcome)?)?;
        let approved = outcome.approves();
        if let ApprovalOutcome::Answered { answer, .. } = &outcome {
            let learned = match answer {
                ApprovalAnswer::Always => Some(Decision::Allow),
                ApprovalAnswer::Never => Some(Decision::Deny),
                ApprovalAnswer::Yes | ApprovalAnswer::No => None,
            };
            if let Some(decision) = learned {
                let path = self.learned_rules.remember(&request.argv, decision)?;
                self.audit.append(
                    request.job_id,
                    "learned_rule.written",
                    json!({"path": path, "argv": request.argv, "decision": decision.as_str()}),
                )?;
                report.learned_rule_file = Some(path);
            }
        }
        report.not_run = match &outcome {
            ApprovalOutcome::Answered { .. } if approved => None,
            ApprovalOutcome::Answered { .. } => Some(NotRunReason::Refused),
            ApprovalOutcome::Expired { .. } => Some(NotRunReason::ApprovalExpired),
            ApprovalOutcome::Unavailable { .. } => Some(NotRunReason::NoApprover),
        };
        if report.not_run == Some(NotRunReason::Refused) {
            crate::refusal_memory::remember(self, request, report, &mut outcome)?;
        }
        report.approval = Some(outcome);
        Ok(())
    }

    /// Runs `write` (leash carrying out an approved action itself, e.g. a
    /// `write_file`) between a snapshot and a check of the control files, as
    /// [`CommandRunner::execute`] does for commands. `write` syncs its new
    /// file through the [`Barrier`] it is given, which makes the journal
    /// entry durable in the same sync, before its rename; `record` is the
    /// audit record of what it did, appended in one group with the entry's
    /// `undo.journaled`.
    pub fn with_control_check<T>(
        &self,
        request: &CommandRequest,
        report: &mut CommandReport,
        write: impl FnOnce(&Barrier<'_>) -> T,
        record: impl FnOnce(&T) -> AuditEntry,
    ) -> Result<T, EngineError> {
        let job_id = request.job_id;
        // Journal before the effect: if the pre-images cannot be saved, the
        // write does not happen. A file action judged as what it is has no
        // resolved program; its request argv says what it does.
        let mut pending = match (self.journal, &report.undo) {
            (Some(journal), Some(plan)) => {
                let argv = report
                    .verdict
                    .command
                    .as_ref()
                    .map_or(&request.argv, |command| &command.argv);
                undo_hook::prepare(journal, self.audit, job_id, argv, plan, Vec::new())?
            }
            _ => None,
        };
        let barrier = match (self.journal, &pending) {
            (Some(journal), Some(_)) => Barrier::journaled(journal),
            _ => Barrier::plain(),
        };
        let before = self.control.before();
        let result = write(&barrier);
        undo_hook::append_with_record(
            self.audit,
            pending.as_mut(),
            Vec::new(),
            vec![record(&result)],
        )?;
        if let Some(journal) = self.journal {
            undo_hook::finish(journal, self.audit, job_id, pending);
        }
        self.check_control_files(job_id, before, report)?;
        Ok(result)
    }

    /// Compares the control files with `before`: unapproved changes are
    /// reverted, recorded as `security.tamper` and put in `report.tampered`;
    /// changes a person approved (this very action) are recorded as
    /// `security.control_changed`.
    fn check_control_files(
        &self,
        job_id: Option<i64>,
        before: Before,
        report: &mut CommandReport,
    ) -> Result<(), EngineError> {
        let approved = report
            .approval
            .as_ref()
            .is_some_and(ApprovalOutcome::approves);
        let changes = self.control.after(before, approved);
        for change in &changes {
            let kind = if change.reverted || change.error.is_some() {
                "security.tamper"
            } else {
                "security.control_changed"
            };
            self.audit
                .append(job_id, kind, serde_json::to_value(change)?)?;
        }
        if !approved {
            report.tampered = changes;
        }
        Ok(())
    }

    /// Runs a judged, approved command in the sandbox and records the result.
    pub fn execute(
        &self,
        request: &CommandRequest,
        report: &mut CommandReport,
    ) -> Result<(), EngineError> {
        let _in_command = command_span(request).entered();
        self.execute_after(request, report, None)
    }

    /// [`CommandRunner::execute`], writing the held-back `decision` (if any)
    /// in one group with `command.started` or `command.failed`.
    fn execute_after(
        &self,
        request: &CommandRequest,
        report: &mut CommandReport,
        decision: Option<AuditEntry>,
    ) -> Result<(), EngineError> {
        let Some(command) = report.verdict.command.clone() else {
            self.audit.append_group(decision.into_iter().collect())?;
            report.not_run = Some(NotRunReason::Denied);
            report.error = Some("the policy did not resolve a program".to_owned());
            return Ok(());
        };
        let spec = match self.sandbox.spec_for(&command, &request.cwd) {
            Ok(mut spec) => {
                // `security.network: false`, but the person listed this
                // command in `require_approval_for` and approved this very
                // run: it alone gets the network (a learned "always" or an
                // allow does not count, only an answer to this request).
                if report.verdict.network_if_approved
                    && report
                        .approval
                        .as_ref()
                        .is_some_and(ApprovalOutcome::approves)
                {
                    spec.network = true;
                }
                spec
            }
            Err(message) => {
                // Root without a usable `security.run_as`: nothing runs.
                return self.record_not_started(request, &command, message, report, decision);
            }
        };
        let mut decision = decision;
        if let Some(approved) = &report.binding
            && report
                .approval
                .as_ref()
                .is_some_and(ApprovalOutcome::approves)
        {
            let now =
                ApprovalBinding::bind(&request.argv, &request.cwd, &command.program, &spec.env);
            let changes = approved.changes(&now);
            if !changes.is_empty() {
                if let Some(decision) = decision.take() {
                    self.audit.append_group(vec![decision])?;
                }
                self.audit.append(
                    request.job_id,
                    "approval.void",
                    json!({"argv": request.argv, "changes": changes, "approved": approved, "now": now}),
                )?;
                report.not_run = Some(NotRunReason::ApprovalVoid);
                report.error = Some(format!("the approval is void: {}", changes.join("; ")));
                return Ok(());
            }
        }
        // Journal before the effect: if the pre-images cannot be saved, the
        // command does not start. The entry, its pre-images and the records
        // below are made durable by one sync each (the journal's `syncfs`,
        // then the audit group), instead of one per part.
        let mut pending = match (self.journal, &report.undo) {
            (Some(journal), Some(plan)) => {
                // A journal that cannot be written leaves the held-back
                // decision recorded next to its `undo.failed`.
                let pending = undo_hook::prepare(
                    journal,
                    self.audit,
                    request.job_id,
                    &command.argv,
                    plan,
                    decision.clone().into_iter().collect(),
                )?;
                if pending.is_some()
                    && let Err(err) = journal.make_durable(None)
                {
                    let failed = AuditEntry::new(
                        request.job_id,
                        "undo.failed",
                        json!({"argv": command.argv, "error": err.to_string(), "ran": false}),
                    );
                    self.audit
                        .append_group(decision.take().into_iter().chain([failed]).collect())?;
                    return Err(EngineError::Undo(err));
                }
                pending
            }
            _ => None,
        };
        let before = self.control.before();
        let started = AuditEntry::new(
            request.job_id,
            "command.started",
            json!({
                "program": command.program,
                "argv": command.argv,
                "cwd": request.cwd,
                "required_layers": self.sandbox.required_names(),
                "network": spec.network,
                "limits": self.sandbox.limits_json(),
            }),
        );
        // One transaction, one fsync: the decision, the journal entry's
        // record and the start are durable together before the child
        // exists (the chain reads decision → undo.journaled → started).
        undo_hook::append_with_record(
            self.audit,
            pending.as_mut(),
            decision.into_iter().collect(),
            vec![started],
        )?;
        match self.executor.run(&spec) {
            Ok(outcome) => {
                self.audit.append(
                    request.job_id,
                    "command.finished",
                    outcome_payload(&outcome),
                )?;
                report.outcome = Some(outcome);
                if let Some(journal) = self.journal {
                    undo_hook::finish(journal, self.audit, request.job_id, pending);
                }
            }
            Err(err) => {
                // Never started: the entry stays `not_started`.
                drop(pending);
                self.record_not_started(request, &command, err.to_string(), report, None)?;
            }
        }
        self.check_control_files(request.job_id, before, report)?;
        Ok(())
    }

    /// The sandbox could not start the command (a required layer is missing,
    /// the spawn failed, or leash is root without a usable `run_as`): recorded
    /// as `command.failed`, and the report says it did not run.
    fn record_not_started(
        &self,
        request: &CommandRequest,
        command: &ResolvedCommand,
        message: String,
        report: &mut CommandReport,
        decision: Option<AuditEntry>,
    ) -> Result<(), EngineError> {
        let failed = AuditEntry::new(
            request.job_id,
            "command.failed",
            json!({"program": command.program, "error": message}),
        );
        self.audit
            .append_group(decision.into_iter().chain([failed]).collect())?;
        report.not_run = Some(NotRunReason::SandboxFailed);
        report.error = Some(message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use crate::approval::NoApprover;
    use leash_config::{EnvVars, LoadOptions, load};

    fn engine(dir: &std::path::Path) -> Engine {
        let ws = dir.join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        let config = dir.join("config.yaml");
        std::fs::write(
            &config,
            "security:\n  execution_mode: auto-approve\n  whitelist: [\"true\"]\nlogging:\n  level: error\n",
        )
        .unwrap();
        let s = |p: std::path::PathBuf| p.to_str().unwrap().to_owned();
        let mut pairs = vec![
            ("HOME", s(dir.join("home"))),
            ("XDG_STATE_HOME", s(dir.join("state"))),
            ("XDG_CONFIG_HOME", s(dir.join("cfg"))),
            ("XDG_CACHE_HOME", s(dir.join("cache"))),
            ("XDG_DATA_HOME", s(dir.join("data"))),
        ];
        // As root, commands run as security.run_as or not at all.
        if let Some(user) = crate::hand_over_if_root("nobody", &[&ws]).unwrap() {
            pairs.push(("LEASH_SECURITY__RUN_AS", user));
        }
        let env = EnvVars::from_pairs(pairs);
        let loaded = load(&LoadOptions {
            config_file: Some(config),
            env,
            overrides: Vec::new(),
            cwd: Some(ws.clone()),
        })
        .unwrap();
        Engine::open(&loaded, &ws).unwrap()
    }

    /// Regression class `outcome-unknown-repeat`: an argv an interrupted
    /// attempt may already have run is never run again without a person,
    /// even where the policy and the mode would just run it.
    #[test]
    fn a_must_ask_argv_needs_approval_even_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let mut engine = engine(dir.path());
        let approver = NoApprover { why: "test".into() };
        let request = CommandRequest {
            argv: vec!["true".into()],
            cwd: engine.workspace.clone(),
            job_id: None,
        };
        let ran = engine.runner(&approver).run(&request).unwrap();
        assert!(ran.outcome.is_some(), "allowed and auto-approved: runs");

        engine.must_ask = vec![vec!["true".into()]];
        let asked = engine.runner(&approver).run(&request).unwrap();
        assert_eq!(asked.gate, GateOutcome::NeedsApproval);
        assert_eq!(asked.not_run, Some(NotRunReason::NoApprover));
        assert!(asked.outcome.is_none());
    }
}
