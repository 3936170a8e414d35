//! One chore job: for each clause, the action (the only candidate, each
//! named operand, or the model's pick under a grammar that offers exactly
//! the candidates), carried out through policy → mode gate → approval →
//! sandbox → audit by [`leash_core::agent::perform`]; then an account and a
//! message grounded in what ran (the output, leash's count of it), never in
//! the model's words.
//!
//! Audit records: `job.started` (kind `chore`), `chore.planned` (each
//! clause's candidates), `model.prompt`/`model.output` for a pick, the
//! records of every action, and `job.finished` with the report.

use leash_store::AuditKind;
use std::sync::Arc;

use leash_core::agent::{
    ActionAccount, ActionResult, ActionScope, JobEnd, account, perform, person_refusal,
    untrusted_block,
};
use leash_core::approval::Approver;
use leash_core::{Engine, refused_before};
use leash_llm::{
    Action, AnswerShape, Backend, ChatMessage, GenerateRequest, OutputFormat, ProgramChoice, Role,
};
use serde_json::json;

use super::plan::{Candidate, Step};
use super::verbs::Verb;
use crate::error::SkillError;
use crate::run::{SkillJob, SkillSettings};

/// The name chore jobs report as their skill.
pub const CHORE: &str = "chore";

/// Lines of a command's output quoted in the message.
const MESSAGE_LINES: usize = 20;

/// How one clause's action was chosen.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Chosen {
    /// The clause of the request.
    pub clause: String,
    /// The labels of its candidates.
    pub offered: Vec<String>,
    /// The labels of the ones taken.
    pub chosen: Vec<String>,
    /// `only` (one candidate), `each` (every named operand), `model`.
    pub by: &'static str,
}

/// What a chore job did; keys as in the agent loop's and skills' reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChoreReport {
    /// How the job ended.
    #[serde(flatten)]
    pub end: JobEnd,
    /// Always [`CHORE`].
    pub skill: &'static str,
    /// Model turns taken (picks).
    pub steps: u32,
    /// Actions chosen.
    pub actions: usize,
    /// Of those, the ones that ran.
    pub executed: usize,
    /// Of those, the ones refused, denied or not approved.
    pub not_run: usize,
    /// Everything leash told the person, in order.
    pub notifications: Vec<String>,
    /// What leash tells the person, from what ran.
    pub message: Option<String>,
    /// Per action, what happened (the agent loop's account format).
    pub account: Vec<ActionAccount>,
    /// Per clause, how its action was chosen.
    pub plan: Vec<Chosen>,
    /// The messages exchanged with the model.
    #[serde(skip)]
    pub conversation: Vec<ChatMessage>,
}

const SYSTEM: &str = "You are leash, a careful assistant on a person's device. \
You choose the one action that does what the person asked, with a JSON object, nothing else.";

/// Runs the planned `steps` of a chore for `job`.
pub fn run_chore(
    engine: &Engine,
    backend: &mut dyn Backend,
    approver: &dyn Approver,
    steps: &[Step],
    job: &SkillJob<'_>,
    settings: SkillSettings,
) -> Result<ChoreReport, SkillError> {
    engine.audit.append(
        job.job_id,
        AuditKind::JobStarted,
        json!({
            "task": job.request,
            "skill": CHORE,
            "kind": CHORE,
            "backend": backend.name(),
            "mode": job.params.mode.as_str(),
            "workspace": engine.workspace,
        }),
    )?;
    engine.audit.append(
        job.job_id,
        AuditKind::ChorePlanned,
        json!({"steps": steps.iter().map(|s| json!({
            "clause": s.clause,
            "candidates": s.candidates.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()}),
    )?;
    let mut report = ChoreReport {
        end: JobEnd::Done,
        skill: CHORE,
        steps: 0,
        actions: 0,
        executed: 0,
        not_run: 0,
        notifications: Vec::new(),
        message: None,
        account: Vec::new(),
        plan: Vec::new(),
        conversation: Vec::new(),
    };
    let runner = engine.runner(job.params, approver);
    let scope = ActionScope {
        workspace: engine.workspace.clone(),
        job_id: job.job_id,
        trash_tag: job
            .job_id
            .map(|id| format!("job-{id}"))
            .unwrap_or_else(|| format!("chore-{}", std::process::id())),
    };
    let mut said: Vec<String> = Vec::new();
    'steps: for (n, step) in steps.iter().enumerate() {
        // The clause's candidates a person refused in this job, with what
        // the model hears about each: the model picks again among the rest.
        let mut refused: Vec<Refused> = Vec::new();
        'clause: loop {
            let (chosen, by) =
                match choose(engine, backend, job, step, &refused, settings, &mut report)? {
                    Ok(chosen) => chosen,
                    Err(reason) => {
                        report.end = JobEnd::Failed { reason };
                        break 'steps;
                    }
                };
            report.plan.push(Chosen {
                clause: step.clause.clone(),
                offered: step.candidates.iter().map(|c| c.label.clone()).collect(),
                chosen: chosen.iter().map(|c| c.label.clone()).collect(),
                by,
            });
            let step_no = u32::try_from(n + 1).unwrap_or(u32::MAX);
            for (i, candidate) in chosen.iter().enumerate() {
                let mut notify = |text: &str| report.notifications.push(text.to_owned());
                let result = perform(&runner, &scope, &candidate.action, step_no, i, &mut notify)?;
                report.actions += 1;
                let entry = account(step_no, &candidate.label, &result);
                let ok = succeeded(&result);
                if let Some(reason) =
                    crate::run::tally(&result, &mut report.executed, &mut report.not_run)
                {
                    report.end = JobEnd::Failed { reason };
                    report.account.push(entry);
                    break 'steps;
                }
                said.push(grounded(candidate, &entry, ok));
                report.account.push(entry);
                // The model's pick, refused by a person: it hears why and
                // picks again among the candidates nobody refused (the
                // refused one is no longer offered, so it is never
                // proposed or asked again in this job).
                let heard = person_refusal(&result)
                    .filter(|_| by == BY_MODEL && engine.learn_from_refusals);
                if let Some(heard) = heard {
                    refused.push(Refused {
                        label: candidate.label.clone(),
                        heard,
                    });
                    if step.candidates.len() > refused.len() {
                        continue 'clause;
                    }
                }
                // A later clause builds on this one ("… and move x into it").
                if !ok && !matches!(candidate.verb, Verb::Search) {
                    report.end = JobEnd::Failed {
                        reason: format!("{}: {}", candidate.label, report_result(&report)),
                    };
                    break 'steps;
                }
            }
            break 'clause;
        }
    }
    report.message = (!said.is_empty()).then(|| said.join("\n"));
    engine.audit.append(
        job.job_id,
        AuditKind::JobFinished,
        serde_json::to_value(&report)?,
    )?;
    engine.audit.flush()?;
    Ok(report)
}

fn report_result(report: &ChoreReport) -> String {
    report
        .account
        .last()
        .map(|a| a.result.clone())
        .unwrap_or_default()
}

/// Did the action run and succeed?
fn succeeded(result: &ActionResult) -> bool {
    match result {
        ActionResult::Command { report, .. } => {
            report.outcome().is_some_and(|o| o.status.success())
        }
        ActionResult::FileWrite {
            report, written, ..
        } => report.carried_out() && written.is_ok(),
        ActionResult::Notified(_) => true,
        ActionResult::Rejected { .. } => false,
    }
}

/// What leash says about one action, from its result only.
fn grounded(candidate: &Candidate, entry: &ActionAccount, ok: bool) -> String {
    let output = entry.output.as_deref().unwrap_or("").trim_end();
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    let quoted = || {
        let mut text = lines
            .iter()
            .take(MESSAGE_LINES)
            .copied()
            .collect::<Vec<_>>()
            .join("\n");
        if lines.len() > MESSAGE_LINES {
            text.push_str(&format!("\n… {} more line(s)", lines.len() - MESSAGE_LINES));
        }
        text
    };
    let label = &candidate.label;
    match (candidate.verb, ok) {
        (Verb::Search, _) if lines.is_empty() => format!("{label}: no file matches."),
        (_, false) => format!("{label}: {}", entry.result),
        (Verb::CountFiles, true) => {
            format!("{} file(s) ({label}):\n{}", lines.len(), quoted())
        }
        (Verb::Find, true) if lines.is_empty() => format!("{label}: nothing found."),
        (Verb::Move | Verb::Copy | Verb::MakeDir | Verb::Delete | Verb::Write, true) => {
            let done = match candidate.verb {
                Verb::Move => "moved",
                Verb::Copy => "copied",
                Verb::MakeDir => "made",
                Verb::Delete => "deleted (to leash's trash; `leash undo` restores it)",
                _ => "written",
            };
            format!("{label}: {done}.")
        }
        (_, true) if lines.is_empty() => format!("{label}: done (no output)."),
        (_, true) => format!("{label}:\n{}", quoted()),
    }
}

/// Verbs whose every named operand is meant ("delete a.tmp and b.tmp").
fn takes_each(verb: Verb) -> bool {
    matches!(
        verb,
        Verb::Delete | Verb::Read | Verb::CountLines | Verb::MakeDir
    )
}

/// "Move a.txt and b.txt into docs/": moves (or copies) of different
/// sources into one folder mean every one of them.
fn into_one_folder(all: &[&Candidate]) -> bool {
    let transfers: Vec<&leash_llm::Transfer> = all
        .iter()
        .filter_map(|c| match &c.action {
            Action::Move(t) | Action::Copy(t) => Some(t),
            _ => None,
        })
        .collect();
    if transfers.len() != all.len() || transfers.len() < 2 {
        return false;
    }
    let folder = transfers[0].to.parent();
    let mut sources: Vec<&std::path::Path> = transfers.iter().map(|t| t.from.as_path()).collect();
    sources.sort();
    sources.dedup();
    folder.is_some_and(|f| !f.as_os_str().is_empty())
        && transfers.iter().all(|t| t.to.parent() == folder)
        && sources.len() == transfers.len()
}

type Choice<'s> = (Vec<&'s Candidate>, &'static str);

/// How a pick the model made is reported ([`Chosen::by`]).
const BY_MODEL: &str = "model";

/// A candidate a person refused in this job, and what the model heard.
#[derive(Debug, Clone)]
struct Refused {
    label: String,
    heard: String,
}

/// The clause's action(s) among the candidates nobody `refused`:
/// `Ok(Err(reason))` when the model gave no valid pick or every candidate
/// was refused.
fn choose<'s>(
    engine: &Engine,
    backend: &mut dyn Backend,
    job: &SkillJob<'_>,
    step: &'s Step,
    refused: &[Refused],
    settings: SkillSettings,
    report: &mut ChoreReport,
) -> Result<Result<Choice<'s>, String>, SkillError> {
    let all: Vec<&Candidate> = step
        .candidates
        .iter()
        .filter(|c| !refused.iter().any(|r| r.label == c.label))
        .collect();
    if all.is_empty() {
        return Ok(Err(
            "a person refused every action that fits the request".to_owned()
        ));
    }
    if all.len() == 1 {
        return Ok(Ok((all, "only")));
    }
    if all.iter().all(|c| takes_each(c.verb)) || into_one_folder(&all) {
        return Ok(Ok((all, "each")));
    }
    let labels: Vec<&str> = all.iter().map(|c| c.label.as_str()).collect();
    // What a person refused for this trigger before, then the request.
    let mut text = refused_before(engine, job.params.trigger.as_deref())?;
    text.push_str(&format!("Request: {}\n\n", step.clause));
    if let Some((label, payload)) = job.payload {
        text.push_str(&untrusted_block(label, payload));
        text.push_str("\n\n");
    }
    text.push_str("Which one of these actions does the request ask for?\n");
    for label in &labels {
        text.push_str(&format!("- {label}\n"));
    }
    for refusal in refused {
        // The label is leash's own (from the request's typed operands); the
        // person's reason was escaped by `person_refusal`.
        text.push_str(&format!(
            "\nYou chose `{}` before. {}\n",
            refusal.label, refusal.heard
        ));
    }
    text.push_str("\nAnswer {\"action\": ACTION}.");
    let messages = vec![
        ChatMessage {
            role: Role::System,
            content: SYSTEM.to_owned(),
        },
        ChatMessage {
            role: Role::User,
            content: text,
        },
    ];
    engine.audit.append(
        job.job_id,
        AuditKind::ModelPrompt,
        json!({"step": report.steps + 1, "messages": messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>()}),
    )?;
    report.steps += 1;
    let generation = backend.generate(GenerateRequest {
        messages: &messages,
        format: OutputFormat::Shaped(choice_shape(&labels)),
        max_tokens: settings.max_tokens,
        temperature: settings.temperature,
        programs: ProgramChoice::Any,
        on_text: None,
    });
    report.conversation.extend(messages);
    let generation = match generation {
        Ok(generation) => generation,
        Err(err) => return Ok(Err(format!("the model could not be asked: {err}"))),
    };
    engine.audit.append(
        job.job_id,
        AuditKind::ModelOutput,
        json!({"step": report.steps, "text": generation.text}),
    )?;
    report.conversation.push(ChatMessage {
        role: Role::Assistant,
        content: generation.text.clone(),
    });
    let picked = serde_json::from_str::<serde_json::Value>(generation.text.trim())
        .ok()
        .and_then(|v| v["action"].as_str().map(str::to_owned));
    match picked.and_then(|p| all.iter().find(|c| c.label == p).copied()) {
        Some(candidate) => Ok(Ok((vec![candidate], BY_MODEL))),
        None => Ok(Err(format!(
            "the model chose none of the offered actions ({})",
            generation.text.trim()
        ))),
    }
}

/// `{"action": "<one of labels>"}`: the grammar offers exactly the labels.
fn choice_shape(labels: &[&str]) -> Arc<AnswerShape> {
    crate::route::enum_shape("chore", "action", labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pick_grammar_offers_exactly_the_labels_escaped() {
        let shape = choice_shape(&["move a.txt to b.txt", "cat \"q\".txt"]);
        assert!(
            shape.gbnf.contains(r#""\"move a.txt to b.txt\"""#),
            "{}",
            shape.gbnf
        );
        assert!(
            shape.gbnf.contains(r#""\"cat \\\"q\\\".txt\"""#),
            "{}",
            shape.gbnf
        );
        assert_eq!(
            shape.schema["properties"]["action"]["enum"][1],
            "cat \"q\".txt"
        );
    }
}
