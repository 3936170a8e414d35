//! The agent loop for one job: ask the model, parse its plan, carry out each
//! action on the leash, feed the results back, until the model says it is done
//! or the step limit is reached.
//!
//! Audit records per step: `model.prompt` (hash and size of what was sent),
//! `model.output` (the raw text, any reasoning, timings), `model.unparseable`
//! (each failed parse, with the error and the raw text), `model.plan` (the
//! parsed actions), then the command records of each action (an action
//! refused before it could be judged — a bad `cwd`, a repeat of one that was
//! refused or failed — gets `action.rejected`); and around the job,
//! `job.started` and `job.finished` (with the account of every action).
//!
//! For small models: the task comes with worked examples chosen for it
//! (`examples`), the answer grammar offers only typed command shapes and real
//! paths (`run_shapes`), identical actions in one answer run once, an action
//! that was refused or failed is not carried out again in the same job, and
//! a model that ran a command must read its RESULTS before it may say done.

use leash_store::AuditKind;
use std::collections::HashMap;
use std::time::Instant;

use leash_llm::{
    Action, ActionPlan, Backend, GenerateRequest, OutputFormat, PlanSource, ProgramChoice,
    parse_response, reask_message,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::account::{ActionAccount, account};
use super::actions::{ActionResult, ActionScope, perform};
use super::context::Conversation;
use super::examples::{ExampleLibrary, render_examples};
use super::feedback::results_message;
use super::memory_guard::available_memory_mb;
use super::run_shapes::{command_shapes, workspace_entries};
use super::system_prompt::runnable_programs;
use crate::approval::Approver;
use crate::backends::SwitchLog;
use crate::command_runner::{CommandStatus, NotRunReason};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::job_params::JobParams;

/// Limits and sampling for one job (from `agent.*` and `model.*`).
#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// `agent.max_steps`: model turns before the job ends as `step_limit`.
    pub max_steps: u32,
    /// `agent.max_parse_retries`: re-asks after an unparseable answer before the
    /// job fails.
    pub max_parse_retries: u32,
    /// Tokens the model may generate per answer.
    pub max_tokens: u32,
    /// Sampling temperature (`model.temperature`).
    pub temperature: f32,
    /// Estimated tokens the conversation may use (the context size minus room
    /// for the answer).
    pub context_budget: usize,
    /// Inference does not start unless this much memory is available (0: no check).
    pub min_free_memory_mb: u64,
}

/// The job to run.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// The job's id in the store (audit records, grants, the undo journal);
    /// `None` for a job with no row (the engine's tests).
    pub job_id: Option<i64>,
    /// The instruction (from the person, or the trigger's prompt template).
    pub task: String,
    /// Trigger data (label, text): shown to the model as untrusted.
    pub payload: Option<(String, String)>,
    /// The job's mode, repeat guard and trigger (never the engine's: it is
    /// shared by every job of the workspace).
    pub params: JobParams,
}

/// How a job ended. Closed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "end", rename_all = "snake_case")]
pub enum JobEnd {
    /// The model said it is done.
    Done,
    /// `max_steps` were used up before the model said it is done.
    StepLimit,
    /// The job could not go on (model unreachable, unparseable output, no memory).
    Failed {
        /// Why, for the person and the audit log.
        reason: String,
    },
    /// Stopped from outside before it ended (cancelled, daemon stopping);
    /// checked before every step and every action.
    Stopped {
        /// Who or what stopped it.
        reason: String,
    },
}

impl JobEnd {
    /// The state a job that ended like this is left in — the one mapping
    /// `leash ask`, the daemon's worker and its skill jobs share. A job
    /// stopped from outside is `cancelled` when a person asked for that,
    /// else `interrupted` (the daemon re-queues it at its next start).
    pub fn final_state(&self, cancel_requested: bool) -> leash_store::JobState {
        use leash_store::JobState;
        match self {
            JobEnd::Done => JobState::Done,
            JobEnd::StepLimit | JobEnd::Failed { .. } => JobState::Failed,
            JobEnd::Stopped { .. } if cancel_requested => JobState::Cancelled,
            JobEnd::Stopped { .. } => JobState::Interrupted,
        }
    }
}

/// What a job did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobReport {
    /// How it ended.
    #[serde(flatten)]
    pub end: JobEnd,
    /// Model turns taken.
    pub steps: u32,
    /// Actions the model proposed.
    pub actions: usize,
    /// Of those, the ones that ran (or leash carried out).
    pub executed: usize,
    /// Of those, the ones denied, refused, expired or rejected.
    pub not_run: usize,
    /// Everything the model told the person (`notify` actions), in order.
    pub notifications: Vec<String>,
    /// The model's last `thought`, shown when a job ends without a message.
    pub last_thought: Option<String>,
    /// Every action: its decision, what became of it, the output of what ran.
    pub account: Vec<ActionAccount>,
    /// The whole conversation (system prompt, task, answers, results), for
    /// storing with the job.
    #[serde(skip)]
    pub conversation: Vec<leash_llm::ChatMessage>,
}

/// Callbacks for a foreground job.
pub struct JobHooks<'a> {
    /// Generated text as it arrives.
    pub on_text: Option<&'a mut dyn FnMut(&str)>,
    /// A `notify` action's message.
    pub on_notify: &'a mut dyn FnMut(&str),
    /// Called once per step before inference (for a progress line).
    pub on_step: &'a mut dyn FnMut(u32),
    /// Where a fallback chain reports backend switches; each is audited.
    pub switches: Option<&'a SwitchLog>,
    /// Asked before every step and every action: `Some(reason)` stops the job
    /// there ([`JobEnd::Stopped`]).
    pub should_stop: Option<&'a dyn Fn() -> Option<String>>,
}

impl std::fmt::Debug for JobHooks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobHooks")
    }
}

/// Runs one job to its end. `system` is the system prompt (the same for every
/// job of an engine, so the embedded backend can reuse its KV cache).
pub fn run_job(
    engine: &Engine,
    backend: &mut dyn Backend,
    approver: &dyn Approver,
    settings: &AgentSettings,
    system: String,
    job: &JobSpec,
    hooks: JobHooks<'_>,
) -> Result<JobReport, EngineError> {
    let JobHooks {
        mut on_text,
        on_notify,
        on_step,
        switches,
        should_stop,
    } = hooks;
    let stop_reason = || should_stop.and_then(|check| check());
    // A fallback chain may have switched backends before this job (a
    // previous job's failure): record it in this job's trail too.
    audit_switches(engine, job, switches)?;
    let runner = engine.runner(&job.params, approver);
    // A job without an id (`leash ask` before the store knew it) still needs
    // a trash directory of its own, so undo can tell its deletes apart.
    let scope = ActionScope {
        workspace: engine.workspace.clone(),
        job_id: job.job_id,
        trash_tag: job
            .job_id
            .map(|id| format!("job-{id}"))
            .unwrap_or_else(|| format!("ask-{}", jiff::Timestamp::now().as_second())),
    };
    // Held, as the model's prompt, output and plan are: they precede no
    // effect, so the next decision + `command.started` (or the job's end)
    // makes them durable in its own transaction (`AuditLog::hold`).
    engine.audit.hold(
        job.job_id,
        AuditKind::JobStarted,
        json!({
            "task": job.task,
            "payload": job.payload.as_ref().map(|(label, text)| json!({"label": label, "bytes": text.len()})),
            "backend": backend.name(),
            "mode": job.params.mode.as_str(),
            "workspace": engine.workspace,
        }),
    )?;
    // The preface goes before the task: worked examples chosen for this
    // task (small models copy shapes better than they follow rules) and the
    // refusals earlier jobs met, so the same refused action is not proposed
    // again job after job.
    let library = ExampleLibrary::builtin(&engine.policy, &engine.workspace);
    let mut preface = render_examples(&library.choose(&job.task));
    preface.push_str(&crate::refusal_memory::refused_before(
        engine,
        job.params.trigger.as_deref(),
    )?);
    let mut conversation = Conversation::with_preface(
        system,
        &preface,
        &job.task,
        job.payload.as_ref().map(|(l, t)| (l.as_str(), t.as_str())),
    );
    // The programs the system prompt lists, from the policy that will judge
    // the actions: the grammar keeps `run` actions to their typed shapes.
    let policy = engine.policy.settings();
    let programs = runnable_programs(&policy.whitelist, &policy.blacklist);
    // The programs' typed shapes do not change during a job: built once
    // (walking the policy's grammars is most of a step's grammar cost); the
    // workspace's entries are read again every step. New paths only take
    // names the person used (or existing ones).
    let mut shapes = command_shapes(&engine.policy, &programs, Vec::new(), Vec::new());
    let named = super::named_paths::named_paths(&job.task);
    let writes = super::named_paths::says_write(&job.task);
    if super::read_only_task::is_read_only(&job.task) {
        super::read_only_task::read_only_shapes(&mut shapes);
    }
    // Actions refused or failed in this job (and why): not carried out again.
    let mut tried: HashMap<String, String> = HashMap::new();
    // Actions carried out in this job (and in which step): their RESULTS were
    // shown; a repeat is not carried out again (a small model re-runs `ls`
    // every step instead of saying done).
    let mut done_before: HashMap<String, u32> = HashMap::new();
    let mut report = JobReport {
        end: JobEnd::StepLimit,
        steps: 0,
        actions: 0,
        executed: 0,
        not_run: 0,
        notifications: Vec::new(),
        last_thought: None,
        account: Vec::new(),
        conversation: Vec::new(),
    };
    // One step: ask for a plan, carry out its actions in order, feed the
    // results back. The loop ends on done (after the results were seen), a
    // failure, a stop request, or `max_steps` (StepLimit, the default end).
    'steps: for step in 1..=settings.max_steps {
        // A stop is honoured between steps and between actions, never in
        // the middle of one: an action is carried out and recorded whole.
        if let Some(reason) = stop_reason() {
            report.end = JobEnd::Stopped { reason };
            break;
        }
        report.steps = step;
        on_step(step);
        let here = Step {
            engine,
            settings,
            job,
            number: step,
        };
        // The workspace changes as actions run: the grammar's names of
        // existing files and directories are read again every step.
        (shapes.existing, shapes.directories) = workspace_entries(&engine.workspace);
        shapes.named =
            super::named_paths::new_names(&named, &shapes.existing, &shapes.directories, writes);
        // Nothing done yet: the answer must act (a small model otherwise
        // says done at once, with an example's final answer).
        shapes.actions_required = report.actions == 0;
        let plan = match next_plan(
            &here,
            backend,
            ProgramChoice::Typed(&shapes),
            &mut conversation,
            switches,
            match on_text {
                Some(ref mut sink) => Some(&mut **sink),
                None => None,
            },
        )? {
            Ok(plan) => plan,
            // A generation stopped by a cancel (`Backend::set_cancel`) ends
            // the job as stopped, not as a model failure.
            Err(reason) => {
                report.end = match stop_reason() {
                    Some(stopped) => JobEnd::Stopped { reason: stopped },
                    None => JobEnd::Failed { reason },
                };
                break;
            }
        };
        report.last_thought = plan.thought.clone();
        // A small model often repeats one action inside a plan; carrying it
        // out twice would fail the second time (a moved file is gone).
        let actions = merge_identical(plan.actions);
        let mut results = Vec::with_capacity(actions.len());
        let mut ran_a_command = false;
        for (n, action) in actions.iter().enumerate() {
            if let Some(reason) = stop_reason() {
                report.end = JobEnd::Stopped { reason };
                break 'steps;
            }
            let mut notify = |text: &str| {
                report.notifications.push(text.to_owned());
                on_notify(text);
            };
            // Two memories keyed by the action itself: what failed or was
            // refused (never tried again: the answer would be the same) and
            // what was carried out (a repeat only re-reads its RESULTS).
            let key = format!("{action:?}");
            let repeat = !matches!(action, Action::Notify(_)) && done_before.contains_key(&key);
            let result = match (tried.get(&key), done_before.get(&key)) {
                (Some(before), _) => ActionResult::Rejected {
                    why: format!(
                        "this exact action was already tried in this job and {before}: do something else"
                    ),
                },
                (None, Some(earlier)) if repeat => ActionResult::Rejected {
                    why: format!(
                        "this exact action was already carried out in step {earlier} and its RESULTS are above: do not repeat it; if the task is finished, answer with \"done\": true"
                    ),
                },
                (None, _) => perform(&runner, &scope, action, step, n, &mut notify)?,
            };
            if let ActionResult::Rejected { why } = &result {
                engine.audit.append_typed(
                    job.job_id,
                    &leash_protocol::audit::ActionRejected {
                        step,
                        action: label(action),
                        reason: why.clone(),
                    },
                )?;
            }
            if repeat {
                // Neither a failure nor new: it only says what was said.
            } else if let Some(why) = failure(&result) {
                tried
                    .entry(key)
                    .or_insert_with(|| super::refusals::not_again(&result, why));
            } else if carried_out(&result) {
                done_before.entry(key).or_insert(step);
            }
            if matches!(action, Action::Run { .. })
                && matches!(&result, ActionResult::Command { report: r, .. } if r.outcome().is_some())
            {
                ran_a_command = true;
            }
            // The counters the job's result and `leash jobs` show: every
            // proposed action, split into carried out and not.
            report.actions += 1;
            match &result {
                ActionResult::Command { report: r, .. }
                | ActionResult::FileWrite { report: r, .. } => {
                    if r.carried_out() {
                        report.executed += 1;
                    } else {
                        report.not_run += 1;
                    }
                }
                ActionResult::Notified(_) => {}
                ActionResult::Rejected { .. } => report.not_run += 1,
            }
            // A command that changed control files behind the person's back
            // fails the job: its changes were reverted and recorded.
            let tamper = match &result {
                ActionResult::Command { report: r, .. }
                | ActionResult::FileWrite { report: r, .. } => r.tamper_reason(),
                ActionResult::Notified(_) | ActionResult::Rejected { .. } => None,
            };
            let label = label(action);
            report.account.push(account(step, &label, &result));
            results.push((label, result));
            if let Some(reason) = tamper {
                report.end = JobEnd::Failed { reason };
                break 'steps;
            }
        }
        // Done only after the model has seen what its commands printed.
        if plan.done && !ran_a_command {
            report.end = JobEnd::Done;
            break;
        }
        // The results go back as the next user turn; an empty plan gets a
        // nudge instead, so the model does not answer the same way again.
        if results.is_empty() {
            conversation.push_user(
                "RESULTS: you proposed no actions. Propose the next action, or set \"done\": true."
                    .to_owned(),
            );
        } else {
            let mut message = results_message(step, &results);
            if plan.done {
                message.push_str(
                    "You said done, but you have not read these RESULTS yet. Read them; when the task is finished, answer with \"actions\": [], \"done\": true and the answer for the person in \"thought\".\n",
                );
            }
            conversation.push_user(message);
        }
    }
    report.conversation = conversation.all();
    engine.audit.append(
        job.job_id,
        AuditKind::JobFinished,
        serde_json::to_value(&report)?,
    )?;
    engine.audit.flush()?;
    Ok(report)
}

/// Where in which job a step is.
#[derive(Clone, Copy)]
struct Step<'a> {
    engine: &'a Engine,
    settings: &'a AgentSettings,
    job: &'a JobSpec,
    number: u32,
}

/// Asks the model for the next plan, re-asking on unparseable output up to
/// `max_parse_retries` times. `Ok(Err(reason))` fails the job (recorded).
fn next_plan(
    step: &Step<'_>,
    backend: &mut dyn Backend,
    programs: ProgramChoice<'_>,
    conversation: &mut Conversation,
    switches: Option<&SwitchLog>,
    mut on_text: Option<&mut dyn FnMut(&str)>,
) -> Result<Result<ActionPlan, String>, EngineError> {
    let Step {
        engine,
        settings,
        job,
        number: step,
    } = *step;
    let mut failed_attempts = 0;
    for attempt in 0..=settings.max_parse_retries {
        // On a phone, starting inference with too little free memory gets
        // leash (or the app around it) killed by the OS: fail the job
        // instead, saying why, before the model is asked anything.
        if settings.min_free_memory_mb > 0
            && let Some(available) = available_memory_mb()
            && available < settings.min_free_memory_mb
        {
            let reason = format!(
                "not enough free memory to start inference: {available} MiB available, {} MiB required (agent.min_free_memory_mb)",
                settings.min_free_memory_mb
            );
            engine.audit.append(
                job.job_id,
                AuditKind::ModelSkipped,
                json!({"step": step, "reason": reason}),
            )?;
            return Ok(Err(reason));
        }
        // The prompt itself is not audited (it can be large and holds the
        // trigger's payload); its size and digest are, so a replay can show
        // which prompt produced which output.
        let messages = conversation.window(settings.context_budget);
        let serialized = serde_json::to_string(&messages)?;
        engine.audit.hold(
            job.job_id,
            AuditKind::ModelPrompt,
            json!({
                "step": step,
                "attempt": attempt,
                "messages": messages.len(),
                "bytes": serialized.len(),
                "sha256": hex::encode(Sha256::digest(serialized.as_bytes())),
            }),
        )?;
        let started = Instant::now();
        let generated = backend.generate(GenerateRequest {
            messages: &messages,
            format: OutputFormat::Actions,
            max_tokens: settings.max_tokens,
            temperature: settings.temperature,
            programs,
            // Reborrow for this call only (a trait object behind `&mut` needs
            // the explicit reborrow to shorten its lifetime).
            on_text: match on_text {
                Some(ref mut sink) => Some(&mut **sink),
                None => None,
            },
        });
        // Switches happen inside `generate`: record them before its result,
        // so the trail reads in the order things happened.
        audit_switches(engine, job, switches)?;
        let generation = match generated {
            Ok(generation) => generation,
            Err(err) => {
                let reason = format!("the model failed: {err}");
                engine.audit.append(
                    job.job_id,
                    AuditKind::ModelError,
                    json!({"step": step, "attempt": attempt, "error": err.to_string(), "elapsed_ms": started.elapsed().as_millis() as u64}),
                )?;
                return Ok(Err(reason));
            }
        };
        engine.audit.hold(
            job.job_id,
            AuditKind::ModelOutput,
            json!({
                "step": step,
                "attempt": attempt,
                "backend": generation.backend,
                "text": generation.text,
                "reasoning": generation.reasoning,
                "finish": generation.finish,
                "prompt_tokens": generation.prompt_tokens,
                "prompt_tokens_reused": generation.prompt_tokens_reused,
                "generated_tokens": generation.generated_tokens,
                "ttft_ms": generation.time_to_first_token.as_millis() as u64,
                "total_ms": generation.total_time.as_millis() as u64,
            }),
        )?;
        match parse_response(&generation.text, generation.reasoning.as_deref()) {
            Ok(parsed) => {
                engine.audit.hold(
                    job.job_id,
                    AuditKind::ModelPlan,
                    json!({
                        "step": step,
                        "plan": parsed.plan,
                        "thinking": parsed.thinking,
                        "source": format!("{:?}", parsed.source),
                    }),
                )?;
                // Failed attempts and their re-asks leave the context: the
                // model sees its valid plan, compactly, as its answer.
                for _ in 0..failed_attempts * 2 {
                    conversation.pop();
                }
                conversation.push_assistant(serde_json::to_string(&parsed.plan)?);
                let mut plan = parsed.plan;
                // A model that answered with a fenced shell block instead of
                // JSON: keep its own text in the conversation (it is what it
                // said) and turn each line into a `run` only when the shell
                // parser reads it as one simple command.
                if parsed.source == PlanSource::FencedShell {
                    conversation.pop();
                    conversation.push_assistant(generation.text.clone());
                    plan.actions = parsed
                        .shell_lines
                        .iter()
                        .map(|line| shell_line_action(engine, job, line))
                        .collect::<Result<Vec<_>, _>>()?
                        .into_iter()
                        .flatten()
                        .collect();
                }
                return Ok(Ok(plan));
            }
            Err(err) => {
                engine.audit.append(
                    job.job_id,
                    AuditKind::ModelUnparseable,
                    json!({"step": step, "attempt": attempt, "error": err.to_string(), "raw": generation.text}),
                )?;
                // Unparseable output is never guessed at: re-ask with the
                // parser's error, and fail the job when the re-asks run out.
                if attempt == settings.max_parse_retries {
                    return Ok(Err(format!(
                        "the model's output could not be parsed after {} re-ask(s): {err}",
                        settings.max_parse_retries
                    )));
                }
                conversation.push_assistant(generation.text);
                conversation.push_user(reask_message(&err));
                failed_attempts += 1;
            }
        }
    }
    Ok(Err("the model produced no plan".to_owned()))
}

/// Records every backend switch a fallback chain made.
fn audit_switches(
    engine: &Engine,
    job: &JobSpec,
    switches: Option<&SwitchLog>,
) -> Result<(), EngineError> {
    for switch in switches.map(SwitchLog::drain).unwrap_or_default() {
        engine.audit.hold(
            job.job_id,
            AuditKind::BackendSwitch,
            json!({"from": switch.from, "to": switch.to, "error": switch.error}),
        )?;
    }
    Ok(())
}

/// A command line from a fenced shell block becomes a `run` action when the
/// policy's shell parser reads it as one simple command; anything else (pipes,
/// `;`, substitutions, ...) is recorded as refused and dropped. The resulting
/// argv is judged again, as every `run` is, when it is carried out.
fn shell_line_action(
    engine: &Engine,
    job: &JobSpec,
    line: &str,
) -> Result<Option<Action>, EngineError> {
    let verdict = engine.policy.check_shell(line);
    match verdict.command {
        Some(command) => Ok(Some(Action::Run {
            argv: command.argv,
            cwd: None,
        })),
        None => {
            engine.audit.append(
                job.job_id,
                AuditKind::CommandDecision,
                json!({
                    "shell_line": line,
                    "decision": verdict.decision.as_str(),
                    "rule": verdict.rule,
                    "reason": verdict.reason,
                    "gate": "refused",
                }),
            )?;
            Ok(None)
        }
    }
}

/// The actions of one answer with repeats removed (a small model lists the
/// same action several times; it runs once), in their first order.
fn merge_identical(actions: Vec<Action>) -> Vec<Action> {
    let mut unique: Vec<Action> = Vec::with_capacity(actions.len());
    for action in actions {
        if !unique.contains(&action) {
            unique.push(action);
        }
    }
    unique
}

/// Why an action must not be carried out again in this job, if it must not:
/// it was refused (by the policy or a person) or it failed. A dry run or an
/// audit-only record is neither.
fn failure(result: &ActionResult) -> Option<&'static str> {
    let refused = |report: &crate::CommandReport| match &report.status {
        CommandStatus::Ran(_) | CommandStatus::Performed => None,
        CommandStatus::NotRun { reason, .. } => match reason {
            NotRunReason::Denied => Some("the policy denied it"),
            NotRunReason::Refused => Some("the person refused it"),
            NotRunReason::ApprovalExpired | NotRunReason::NoApprover => Some("it was not approved"),
            NotRunReason::ApprovalVoid => {
                Some("what it would run changed after the person approved it")
            }
            NotRunReason::DryRun | NotRunReason::AuditOnly => None,
        },
        CommandStatus::Failed { .. } => Some("it could not start"),
    };
    match result {
        ActionResult::Command { report, .. } => refused(report).or_else(|| {
            report
                .outcome()
                .filter(|o| !matches!(o.status, leash_sandbox::ExitKind::Exited(0)))
                .map(|_| "it failed")
        }),
        ActionResult::FileWrite {
            report, written, ..
        } => refused(report).or_else(|| written.is_err().then_some("it failed")),
        ActionResult::Rejected { .. } => Some("it was rejected"),
        ActionResult::Notified(_) => None,
    }
}

/// Whether the action was carried out (ran, was written, was shown).
fn carried_out(result: &ActionResult) -> bool {
    match result {
        ActionResult::Command { report, .. } => report.outcome().is_some(),
        ActionResult::FileWrite { written, .. } => written.is_ok(),
        ActionResult::Notified(_) | ActionResult::Rejected { .. } => false,
    }
}

/// A short label of an action for the RESULTS message.
fn label(action: &Action) -> String {
    let text = match action {
        Action::Run { argv, .. } => {
            format!("run {}", serde_json::to_string(argv).unwrap_or_default())
        }
        Action::WriteFile(w) => format!("write_file {}", w.path.display()),
        Action::Move(t) => format!("move {} -> {}", t.from.display(), t.to.display()),
        Action::Copy(t) => format!("copy {} -> {}", t.from.display(), t.to.display()),
        Action::Mkdir(p) => format!("mkdir {}", p.display()),
        Action::Delete(p) => format!("delete {}", p.display()),
        Action::Notify(_) => "notify".to_owned(),
    };
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
