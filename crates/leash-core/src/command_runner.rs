//! One proposed command through the whole leash: policy → mode gate → approval
//! → sandbox → audit. `leash exec` uses it directly; the agent loop uses it for
//! every `run` action the model proposes.
//!
//! Audit records written, in order (each with the job id when there is one):
//! `command.decision` (argv, cwd, mode, decision, rule, reason, gate) always;
//! `approval.requested` + `approval.answered|expired|unavailable` when a person
//! is asked; `learned_rule.written` after "always"/"never"; `grant.created`
//! (or `grant.refused`) after "grant"; `grant.used` when
//! a person's grant stood in for asking; `approval.void` when what an approval
//! covered changed before the run (then nothing runs); `command.started`
//! *before* the child is spawned (so a crash leaves a start without a result,
//! which the daemon reports as "outcome unknown" instead of re-running it);
//! `command.finished` or `command.failed` afterwards; then one
//! `security.tamper` per control file the command changed without approval
//! (reverted; see [`crate::control_files`]) or `security.control_changed`
//! when a person approved exactly this command.
//!
//! Judging ([`CommandRunner::judge`]) ends in a [`Judged`]: either a
//! [`Cleared`] — the only value [`CommandRunner::execute`] and
//! [`CommandRunner::with_control_check`] accept, and only this module can
//! make one — or the report of a command that will not run.
//!
//! Durability: in [`CommandRunner::run`], a decision that lets the command run
//! straight away is held back and written together with `command.started`
//! (or `command.failed`) with [`AuditLog::append_group`] — one transaction and
//! one fsync before the spawn instead of one each. Every other record is made
//! durable when it is written.

use leash_store::AuditKind;
use std::path::PathBuf;
use std::time::Duration;

use leash_config::ExecutionMode;
use leash_policy::{Decision, Policy, ResolvedCommand, Verdict, VerdictOrigin};
use leash_protocol::audit;
use leash_sandbox::Executor;
use leash_store::{AuditEntry, AuditLog};
use leash_undo::Barrier;
use serde_json::json;

use crate::approval::{
    ApprovalAnswer, ApprovalBinding, ApprovalOutcome, ApprovalRequest, Approver,
};
use crate::control_files::{Before, ControlGuard, Tamper};
use crate::error::EngineError;
use crate::grants::{GrantBook, GrantContext};
use crate::learned_rules::LearnedRulesFile;
use crate::mode_gate::{GateOutcome, gate};
use crate::outcome_json::outcome_payload;
use crate::sandbox_template::SandboxTemplate;
use crate::undo_hook;

mod cleared;
mod report;

use cleared::Judgement;
pub use cleared::{Cleared, Judged};
pub use report::{CommandReport, CommandStatus, NotRunReason};

/// One command to judge and maybe run.
#[derive(Debug, Clone)]
pub struct CommandRequest {
    /// The exact argv the policy judges and the sandbox runs; never a shell string.
    pub argv: Vec<String>,
    /// Where it runs (the policy resolves relative paths against it).
    pub cwd: PathBuf,
    /// The job it belongs to (audit records, grant scopes); `None` for
    /// `leash exec`.
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

/// Everything the runner needs, borrowed for one or many commands.
#[derive(Debug)]
pub struct CommandRunner<'a> {
    /// Judges every argv first; a deny here ends the command.
    pub policy: &'a Policy,
    /// Private: only a [`Cleared`] command reaches the executor.
    pub(crate) executor: &'a Executor,
    /// Every decision, approval and outcome is appended here before it counts.
    pub audit: &'a AuditLog,
    /// Asked when the gate says a person must decide.
    pub approver: &'a dyn Approver,
    /// The execution mode this job runs in (auto-approve, prompt, dry-run,
    /// audit-only).
    pub mode: ExecutionMode,
    /// The sandbox every cleared command runs in.
    pub sandbox: &'a SandboxTemplate,
    /// Where an "always"/"never" answer is written.
    pub learned_rules: &'a LearnedRulesFile,
    /// How long a person has to answer (`approvals.expiry_s`); then it is a denial.
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
    /// The trigger's name, for grant scopes (`trigger: NAME`).
    pub trigger: Option<&'a str>,
    /// The job's workspace, for grant scopes and undo roots.
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
        match self.judge_holding_back(request, true)? {
            Judged::Cleared(cleared) => self.execute_cleared(cleared),
            Judged::Stopped(report) => Ok(report),
        }
    }

    /// Everything before execution: the policy decision, the mode gate and, when
    /// needed, a person's approval, all recorded. A command that may run comes
    /// back [`Judged::Cleared`]; callers that carry out an action themselves
    /// (writing a file) hand that to [`CommandRunner::with_control_check`].
    pub fn judge(&self, request: &CommandRequest) -> Result<Judged, EngineError> {
        let _in_command = command_span(request).entered();
        self.judge_holding_back(request, false)
    }

    /// [`CommandRunner::judge`]; with `hold_back`, a decision that lets the
    /// command run without asking travels unwritten in the [`Cleared`], to be
    /// written in one group with what execution records first.
    fn judge_holding_back(
        &self,
        request: &CommandRequest,
        hold_back: bool,
    ) -> Result<Judged, EngineError> {
        let verdict = self.policy.check_argv_at(&request.argv, &request.cwd);
        match self.judge_verdict_holding_back(request, verdict, hold_back)? {
            // Only a command the policy resolved can run: the executor runs
            // the canonical file the policy judged, never a PATH lookup.
            Judged::Cleared(cleared) if cleared.judgement.verdict.command.is_none() => {
                let Cleared {
                    judgement,
                    held_back,
                    ..
                } = cleared;
                self.audit.append_group(held_back.into_iter().collect())?;
                Ok(Judged::Stopped(
                    judgement.into_report(unresolved(), Vec::new()),
                ))
            }
            judged @ (Judged::Cleared(_) | Judged::Stopped(_)) => Ok(judged),
        }
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
    ) -> Result<Judged, EngineError> {
        self.judge_verdict_holding_back(request, verdict, false)
    }

    /// [`CommandRunner::judge_verdict`]; `hold_back` as in
    /// [`CommandRunner::judge_holding_back`]. The one place a [`Cleared`] is
    /// made.
    fn judge_verdict_holding_back(
        &self,
        request: &CommandRequest,
        verdict: Verdict,
        hold_back: bool,
    ) -> Result<Judged, EngineError> {
        let mut gate_outcome = gate(self.mode, verdict.decision);
        // A person already answered "always" for exactly this argv: in prompt
        // mode that answer stands in for asking again. (It never turns a deny
        // into anything else: the policy decided `allow` here.)
        if gate_outcome == GateOutcome::NeedsApproval && verdict.is_learned_allow() {
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
        let mut verdict = verdict;
        if grant.is_some() {
            gate_outcome = GateOutcome::Run;
            // What the engine acted on is the person's grant, not the rule.
            verdict.origin = VerdictOrigin::Grant;
        }
        let decision = AuditEntry::typed(
            request.job_id,
            &audit::CommandDecision {
                argv: request.argv.clone(),
                cwd: request.cwd.clone(),
                mode: self.mode,
                decision: verdict.decision,
                rule: verdict.rule.clone(),
                origin: Some(verdict.origin),
                reason: verdict.reason.clone(),
                program: verdict.command.as_ref().map(|c| c.program.clone()),
                identity: verdict.command.as_ref().map(|c| c.identity.clone()),
                gate: gate_outcome,
                outcome_unknown_before: outcome_unknown,
                undo: undo.as_ref().map(leash_undo::Plan::to_json),
            },
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
                AuditKind::GrantUsed,
                json!({"grant_id": grant.id, "pattern": grant.pattern, "scope": grant.scope,
                       "argv": request.argv, "cwd": request.cwd}),
            )?;
        }
        let mut judgement = Judgement {
            verdict,
            mode: self.mode,
            gate: gate_outcome,
            approval: None,
            learned_rule_file: None,
            undo,
            grant: grant.map(|g| g.id),
            binding: None,
        };
        let stopped = match gate_outcome {
            GateOutcome::Run => None,
            GateOutcome::NeedsApproval => self.ask_person(request, &mut judgement)?,
            GateOutcome::Refused => Some(NotRunReason::Denied),
            GateOutcome::WouldRun | GateOutcome::WouldAsk => Some(NotRunReason::DryRun),
            GateOutcome::RecordedOnly => Some(NotRunReason::AuditOnly),
        };
        Ok(match stopped {
            None => Judged::Cleared(Cleared {
                request: request.clone(),
                judgement,
                held_back,
            }),
            Some(reason) => Judged::Stopped(judgement.into_report(
                CommandStatus::NotRun {
                    reason,
                    detail: None,
                },
                Vec::new(),
            )),
        })
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

    /// Asks a person; `None` when they approved, else why it will not run.
    /// Records the request, the answer and any learned rule.
    fn ask_person(
        &self,
        request: &CommandRequest,
        judgement: &mut Judgement,
    ) -> Result<Option<NotRunReason>, EngineError> {
        let verdict = &judgement.verdict;
        let binding = verdict.command.as_ref().map(|command| {
            let env = self
                .sandbox
                .spec_for(command, &request.cwd)
                .map(|spec| spec.env)
                .unwrap_or_default();
            ApprovalBinding::bind(&request.argv, &request.cwd, &command.program, &env)
        });
        let suggested_grant = match &verdict.command {
            Some(command) => {
                self.grants
                    .suggestion(&command.identity, &request.argv, self.suggest_after)?
            }
            None => None,
        };
        let approval = ApprovalRequest {
            argv: request.argv.clone(),
            program: verdict.command.as_ref().map(|c| c.program.clone()),
            cwd: request.cwd.clone(),
            decision: verdict.decision,
            rule: verdict.rule.clone(),
            reason: undo_hook::prompt_reason(&verdict.reason, judgement.undo.as_ref()),
            expires_in: self.approval_expiry,
            binding: binding.clone(),
            suggested_grant,
            reversibility: judgement.undo.as_ref().map(|plan| plan.class),
            grant_shape: verdict
                .command
                .as_ref()
                .map(|command| leash_policy::suggest_grant(&command.identity, &request.argv)),
        };
        judgement.binding = binding;
        self.audit.append_typed(
            request.job_id,
            &audit::ApprovalRequested {
                argv: approval.argv.clone(),
                cwd: approval.cwd.clone(),
                rule: approval.rule.clone(),
                reason: approval.reason.clone(),
                expires_in_s: approval.expires_in.as_secs(),
                binding: approval
                    .binding
                    .as_ref()
                    .map(serde_json::to_value)
                    .transpose()?,
                suggested_grant: approval.suggested_grant.clone(),
                reversibility: approval
                    .reversibility
                    .map(serde_json::to_value)
                    .transpose()?,
                grant_shape: approval.grant_shape.clone(),
            },
        )?;
        let mut outcome = self.approver.ask(&approval);
        let kind = match &outcome {
            ApprovalOutcome::Answered { .. } => AuditKind::ApprovalAnswered,
            ApprovalOutcome::Expired { .. } => AuditKind::ApprovalExpired,
            ApprovalOutcome::Unavailable { .. } => AuditKind::ApprovalUnavailable,
        };
        self.audit
            .append(request.job_id, kind, serde_json::to_value(&outcome)?)?;
        let approved = outcome.approves();
        if let ApprovalOutcome::Answered {
            answer,
            channel,
            by,
            ..
        } = &outcome
        {
            let learned = match answer {
                ApprovalAnswer::Always => Some(Decision::Allow),
                ApprovalAnswer::Never => Some(Decision::Deny),
                ApprovalAnswer::Grant(terms) => {
                    crate::grant_making::grant_from_answer(
                        self, request, &approval, *terms, by, channel,
                    )?;
                    None
                }
                ApprovalAnswer::Yes | ApprovalAnswer::No => None,
            };
            if let Some(decision) = learned {
                let path = self.learned_rules.remember(&request.argv, decision)?;
                self.audit.append(
                    request.job_id,
                    AuditKind::LearnedRuleWritten,
                    json!({"path": path, "argv": request.argv, "decision": decision.as_str()}),
                )?;
                judgement.learned_rule_file = Some(path);
            }
        }
        let stopped = match &outcome {
            ApprovalOutcome::Answered { .. } if approved => None,
            ApprovalOutcome::Answered { .. } => Some(NotRunReason::Refused),
            ApprovalOutcome::Expired { .. } => Some(NotRunReason::ApprovalExpired),
            ApprovalOutcome::Unavailable { .. } => Some(NotRunReason::NoApprover),
        };
        if stopped == Some(NotRunReason::Refused) {
            crate::refusal_memory::remember(self, request, &judgement.verdict, &mut outcome)?;
        }
        judgement.approval = Some(outcome);
        Ok(stopped)
    }

    /// Runs `write` (leash carrying out a cleared action itself, e.g. a
    /// `write_file`) between a snapshot and a check of the control files, as
    /// [`CommandRunner::execute`] does for commands. `write` syncs its new
    /// file through the [`Barrier`] it is given, which makes the journal
    /// entry durable in the same sync, before its rename; `record` is the
    /// audit record of what it did, appended in one group with the entry's
    /// `undo.journaled`.
    pub fn with_control_check<T>(
        &self,
        cleared: Cleared,
        write: impl FnOnce(&Barrier<'_>) -> T,
        record: impl FnOnce(&T) -> AuditEntry,
    ) -> Result<(CommandReport, T), EngineError> {
        let Cleared {
            request,
            judgement,
            held_back,
        } = cleared;
        self.audit.append_group(held_back.into_iter().collect())?;
        let job_id = request.job_id;
        // Journal before the effect: if the pre-images cannot be saved, the
        // write does not happen. A file action judged as what it is has no
        // resolved program; its request argv says what it does.
        let mut pending = match (self.journal, &judgement.undo) {
            (Some(journal), Some(plan)) => {
                let argv = judgement
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
        let tampered = self.check_control_files(job_id, before, judgement.approved())?;
        Ok((
            judgement.into_report(CommandStatus::Performed, tampered),
            result,
        ))
    }

    /// Compares the control files with `before`: unapproved changes are
    /// reverted, recorded as `security.tamper` and returned; changes a
    /// person approved (this very action) are recorded as
    /// `security.control_changed`.
    fn check_control_files(
        &self,
        job_id: Option<i64>,
        before: Before,
        approved: bool,
    ) -> Result<Vec<Tamper>, EngineError> {
        let changes = self.control.after(before, approved);
        for change in &changes {
            let kind = if change.reverted || change.error.is_some() {
                AuditKind::SecurityTamper
            } else {
                AuditKind::SecurityControlChanged
            };
            self.audit
                .append(job_id, kind, serde_json::to_value(change)?)?;
        }
        Ok(if approved { Vec::new() } else { changes })
    }

    /// Runs a cleared command in the sandbox and records the result; a held
    /// back decision is written in one group with `command.started` or
    /// `command.failed`. Taking the [`Cleared`] by value is the point: only a
    /// judged, gated and (where needed) approved command gets here, once.
    pub fn execute(&self, cleared: Cleared) -> Result<CommandReport, EngineError> {
        let _in_command = command_span(&cleared.request).entered();
        self.execute_cleared(cleared)
    }

    /// [`CommandRunner::execute`] inside the caller's span.
    fn execute_cleared(&self, cleared: Cleared) -> Result<CommandReport, EngineError> {
        let Cleared {
            request,
            judgement,
            held_back: mut decision,
        } = cleared;
        let Some(command) = judgement.verdict.command.clone() else {
            self.audit.append_group(decision.into_iter().collect())?;
            return Ok(judgement.into_report(unresolved(), Vec::new()));
        };
        let approved = judgement.approved();
        let spec = match self.sandbox.spec_for(&command, &request.cwd) {
            Ok(mut spec) => {
                // `security.network: false`, but the person listed this
                // command in `require_approval_for` and approved this very
                // run: it alone gets the network (a learned "always" or an
                // allow does not count, only an answer to this request).
                if judgement.verdict.network_if_approved && approved {
                    spec.network = true;
                }
                spec
            }
            Err(message) => {
                // Root without a usable `security.run_as`: nothing runs.
                self.record_not_started(&request, &command, &message, decision)?;
                return Ok(
                    judgement.into_report(CommandStatus::Failed { error: message }, Vec::new())
                );
            }
        };
        if let Some(bound) = &judgement.binding
            && approved
        {
            let now =
                ApprovalBinding::bind(&request.argv, &request.cwd, &command.program, &spec.env);
            let changes = bound.changes(&now);
            if !changes.is_empty() {
                if let Some(decision) = decision.take() {
                    self.audit.append_group(vec![decision])?;
                }
                self.audit.append(
                    request.job_id,
                    AuditKind::ApprovalVoid,
                    json!({"argv": request.argv, "changes": changes, "approved": bound, "now": now}),
                )?;
                let detail = format!("the approval is void: {}", changes.join("; "));
                return Ok(judgement.into_report(
                    CommandStatus::NotRun {
                        reason: NotRunReason::ApprovalVoid,
                        detail: Some(detail),
                    },
                    Vec::new(),
                ));
            }
        }
        // Journal before the effect: if the pre-images cannot be saved, the
        // command does not start. The entry, its pre-images and the records
        // below are made durable by one sync each (the journal's `syncfs`,
        // then the audit group), instead of one per part.
        let mut pending = match (self.journal, &judgement.undo) {
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
                        AuditKind::UndoFailed,
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
        let started = AuditEntry::typed(
            request.job_id,
            &audit::CommandStarted {
                program: command.program.clone(),
                argv: command.argv.clone(),
                cwd: request.cwd.clone(),
                required_layers: self
                    .sandbox
                    .required_names()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                network: spec.network,
                limits: self.sandbox.limits_json(),
            },
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
        let status = match self.executor.run(&spec) {
            Ok(outcome) => {
                self.audit.append(
                    request.job_id,
                    AuditKind::CommandFinished,
                    outcome_payload(&outcome),
                )?;
                if let Some(journal) = self.journal {
                    undo_hook::finish(journal, self.audit, request.job_id, pending);
                }
                CommandStatus::Ran(outcome)
            }
            Err(err) => {
                // Never started: the entry stays `not_started`.
                drop(pending);
                let error = err.to_string();
                self.record_not_started(&request, &command, &error, None)?;
                CommandStatus::Failed { error }
            }
        };
        let tampered = self.check_control_files(request.job_id, before, approved)?;
        Ok(judgement.into_report(status, tampered))
    }

    /// The sandbox could not start the command (a required layer is missing,
    /// the spawn failed, or leash is root without a usable `run_as`):
    /// recorded as `command.failed`, after a held-back `decision`.
    fn record_not_started(
        &self,
        request: &CommandRequest,
        command: &ResolvedCommand,
        message: &str,
        decision: Option<AuditEntry>,
    ) -> Result<(), EngineError> {
        let failed = AuditEntry::new(
            request.job_id,
            AuditKind::CommandFailed,
            json!({"program": command.program, "error": message}),
        );
        self.audit
            .append_group(decision.into_iter().chain([failed]).collect())?;
        Ok(())
    }
}

/// The status of a cleared verdict that names no program to run.
fn unresolved() -> CommandStatus {
    CommandStatus::NotRun {
        reason: NotRunReason::Denied,
        detail: Some("the policy did not resolve a program".to_owned()),
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
        let engine = engine(dir.path());
        let approver = NoApprover { why: "test".into() };
        let request = CommandRequest {
            argv: vec!["true".into()],
            cwd: engine.workspace.clone(),
            job_id: None,
        };
        let mut job = engine.default_params();
        let ran = engine.runner(&job, &approver).run(&request).unwrap();
        assert!(ran.outcome().is_some(), "allowed and auto-approved: runs");

        job.must_ask = vec![vec!["true".into()]];
        let asked = engine.runner(&job, &approver).run(&request).unwrap();
        assert_eq!(asked.gate, GateOutcome::NeedsApproval);
        assert_eq!(asked.not_run(), Some(NotRunReason::NoApprover));
        assert!(asked.outcome().is_none());
    }
}
