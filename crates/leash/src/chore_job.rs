//! `leash ask` as a chore: when no skill takes the request and it names a
//! chore verb and paths leash can type ("rename draft.txt to final.txt"),
//! the job runs as typed actions chosen among valid ones
//! ([`leash_skills::chore`]) instead of the open agent loop, and ends with
//! the account of what ran and a message grounded in its output.

use std::process::ExitCode;

use leash_core::agent::{JobEnd, workspace_entries};
use leash_llm::Role;
use leash_skills::chore::{ChoreReport, plan, run_chore};
use leash_skills::{SkillJob, SkillSettings};
use leash_store::JobState;
use serde_json::json;

use crate::escape::{escape_line, escape_text};
use crate::exit;
use crate::skill_job::AskContext;

/// Runs the job as a chore when the request is one; `None` otherwise.
pub fn run_if_chore(ctx: AskContext<'_>) -> anyhow::Result<Option<ExitCode>> {
    let workspace = &ctx.engine.workspace;
    let (entries, _) = workspace_entries(workspace);
    let Some(steps) = plan(ctx.task, workspace, &entries) else {
        return Ok(None);
    };
    let report = run_chore(
        ctx.engine,
        &mut *ctx.plan_backend,
        ctx.approver,
        &steps,
        &SkillJob {
            job_id: Some(ctx.job_id),
            request: ctx.task,
            payload: None,
            params: ctx.params,
        },
        SkillSettings::from_config(ctx.loaded),
    )?;
    Ok(Some(finish(&ctx, &report)?))
}

/// Stores the conversation and the job's end, and tells the person.
fn finish(ctx: &AskContext<'_>, report: &ChoreReport) -> anyhow::Result<ExitCode> {
    let (store, job_id) = (ctx.store, ctx.job_id);
    for (position, message) in report.conversation.iter().enumerate() {
        let role = match message.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        store.put_message(job_id, i64::try_from(position)?, role, &message.content)?;
    }
    let result = serde_json::to_value(report)?;
    let (state, code) = match &report.end {
        JobEnd::Done => (JobState::Done, exit::success()),
        JobEnd::StepLimit | JobEnd::Failed { .. } | JobEnd::Stopped { .. } => {
            (JobState::Failed, exit::failure())
        }
    };
    store.set_job_state(job_id, state, Some(&result))?;
    if ctx.global.json {
        println!(
            "{}",
            json!({"job": job_id, "state": state.as_str(), "skill": report.skill, "report": result})
        );
        return Ok(code);
    }
    for entry in &report.account {
        let judged = match (&entry.decision, &entry.rule) {
            (Some(decision), Some(rule)) => format!("{decision} ({rule})"),
            (Some(decision), None) => decision.clone(),
            (None, _) => "not judged".to_owned(),
        };
        println!(
            "[step {}] {}: {judged}: {}",
            entry.step,
            escape_line(&entry.action),
            escape_line(&entry.result)
        );
    }
    match &report.end {
        JobEnd::Done => eprintln!(
            "leash: job {job_id} done as a chore: {} action(s), {} run, {} not run",
            report.actions, report.executed, report.not_run
        ),
        JobEnd::StepLimit => eprintln!("leash: job {job_id} stopped"),
        JobEnd::Failed { reason } | JobEnd::Stopped { reason } => {
            eprintln!("leash: job {job_id} failed: {}", escape_text(reason))
        }
    }
    if let Some(message) = &report.message {
        println!("{}", escape_text(message));
    }
    Ok(code)
}
