//! `leash ask` through a skill: with `--skill NAME` (what a trigger naming a
//! skill does), or when the routing step picks one (`skills.route`). The
//! job then gathers its context, asks the skill's question and carries out
//! the derived actions on the leash; otherwise `leash ask` goes on to the
//! open agent loop.

use std::process::ExitCode;

use leash_config::LoadedConfig;
use leash_core::agent::JobEnd;
use leash_core::approval::Approver;
use leash_core::{BackendPool, Engine, JobParams, StepKind, model_name_for};
use leash_llm::Backend;
use leash_skills::{Route, SkillJob, SkillReport, SkillSet, SkillSettings, route, run_skill};
use leash_store::Store;
use serde_json::json;

use crate::escape::escape_text;
use crate::exit;
use crate::global::GlobalArgs;

/// Lines of each gathered output shown on the terminal.
const SHOWN_LINES: usize = 12;

/// What the skill path needs from `leash ask`.
pub struct AskContext<'a> {
    pub global: &'a GlobalArgs,
    pub loaded: &'a LoadedConfig,
    pub engine: &'a Engine,
    /// The job's mode (`--mode`, else the config's), repeat guard and trigger.
    pub params: &'a JobParams,
    pub store: &'a Store,
    pub job_id: i64,
    pub task: &'a str,
    /// `--skill NAME`.
    pub skill: Option<&'a str>,
    pub approver: &'a dyn Approver,
    /// The backend `leash ask` opened for open planning.
    pub plan_backend: &'a mut dyn Backend,
}

/// Runs the job through a skill when one is named or chosen, else as a
/// chore when the request is one (a verb and paths leash can type); `None`
/// when the open agent loop should run it.
pub fn run_if_skill(mut ctx: AskContext<'_>) -> anyhow::Result<Option<ExitCode>> {
    if let Some(code) = run_through_skill(&mut ctx)? {
        return Ok(Some(code));
    }
    crate::chore_job::run_if_chore(ctx)
}

fn run_through_skill(ctx: &mut AskContext<'_>) -> anyhow::Result<Option<ExitCode>> {
    let loaded = ctx.loaded;
    if ctx.skill.is_none() && !loaded.config.skills.route {
        return Ok(None);
    }
    let skills = SkillSet::load(
        loaded.config.skills.dir.as_deref(),
        &loaded.config.skills.disabled,
    )?;
    if skills.is_empty() {
        return Ok(None);
    }
    let policy = &ctx.engine.policy;
    let split = |line: &str| policy.check_shell(line).command.map(|c| c.argv);
    let workspace = &ctx.engine.workspace;
    let plan_name = model_name_for(loaded, StepKind::Plan, &[]);
    let mut pool = BackendPool::default();
    let (skill, inputs) = match ctx.skill {
        Some(name) => {
            let skill = skills.get(name)?;
            match leash_skills::inputs::resolve(skill, ctx.task, workspace, &split) {
                Ok(inputs) => (skill, inputs),
                Err(why) => {
                    eprintln!(
                        "leash: skill {name} does not apply ({}); the open agent loop takes the job",
                        escape_text(&why)
                    );
                    audit_route(ctx.engine, ctx.job_id, None, &why)?;
                    return Ok(None);
                }
            }
        }
        None => {
            let route_name = model_name_for(loaded, StepKind::Route, &[]);
            let backend: &mut dyn Backend = if route_name == plan_name {
                &mut *ctx.plan_backend
            } else {
                pool.for_step(loaded, StepKind::Route, &[])?.0
            };
            let max_tokens = loaded.config.model.max_tokens.unwrap_or(64);
            match route(backend, &skills, ctx.task, workspace, &split, max_tokens) {
                Ok(Route::Skill { skill, inputs }) => {
                    audit_route(
                        ctx.engine,
                        ctx.job_id,
                        Some(&skill.name),
                        "chosen by the routing step",
                    )?;
                    (skill, inputs)
                }
                Ok(Route::Open { why }) => {
                    audit_route(ctx.engine, ctx.job_id, None, &why)?;
                    return Ok(None);
                }
                Err(err) => {
                    audit_route(
                        ctx.engine,
                        ctx.job_id,
                        None,
                        &format!("routing failed: {err}"),
                    )?;
                    return Ok(None);
                }
            }
        }
    };
    let skill_name = model_name_for(loaded, StepKind::Skill, &[skill.model.as_deref()]);
    let backend: &mut dyn Backend = if skill_name == plan_name {
        &mut *ctx.plan_backend
    } else {
        pool.for_step(loaded, StepKind::Skill, &[skill.model.as_deref()])?
            .0
    };
    let settings = SkillSettings::from_config(loaded);
    let mut on_notify = |text: &str| eprintln!("leash: notify: {}", escape_text(text));
    let report = run_skill(
        ctx.engine,
        backend,
        ctx.approver,
        skill,
        inputs,
        &SkillJob {
            job_id: Some(ctx.job_id),
            request: ctx.task,
            payload: None,
            params: ctx.params,
        },
        settings,
        &mut on_notify,
    )?;
    Ok(Some(finish(ctx.global, ctx.store, ctx.job_id, &report)?))
}

fn audit_route(engine: &Engine, job_id: i64, skill: Option<&str>, why: &str) -> anyhow::Result<()> {
    engine.audit.append_typed(
        Some(job_id),
        &leash_protocol::audit::JobRouted {
            skill: skill.unwrap_or(leash_skills::NONE).to_owned(),
            why: why.to_owned(),
        },
    )?;
    Ok(())
}

/// Stores the conversation and the job's end, and tells the person.
fn finish(
    global: &GlobalArgs,
    store: &Store,
    job_id: i64,
    report: &SkillReport,
) -> anyhow::Result<ExitCode> {
    for (position, message) in report.conversation.iter().enumerate() {
        let role = message.role.as_str();
        store.put_message(job_id, i64::try_from(position)?, role, &message.content)?;
    }
    let result = serde_json::to_value(report)?;
    // A skill never stops from outside, so nobody asked to cancel it.
    let state = report.end.final_state(false);
    let code = exit::for_job_state(state);
    store.set_job_state(job_id, state, Some(&result))?;
    if global.json {
        println!(
            "{}",
            json!({"job": job_id, "state": state.as_str(), "skill": report.skill, "report": result})
        );
        return Ok(code);
    }
    for piece in &report.context {
        eprintln!(
            "leash: {} ({}):",
            escape_text(&piece.label),
            piece.argv.join(" ")
        );
        let lines: Vec<&str> = piece.text.lines().collect();
        for line in lines.iter().take(SHOWN_LINES) {
            eprintln!("  {}", escape_text(line));
        }
        if lines.len() > SHOWN_LINES {
            eprintln!("  … {} more line(s)", lines.len() - SHOWN_LINES);
        }
    }
    match &report.end {
        JobEnd::Done => eprintln!(
            "leash: job {job_id} done through skill {}: {} action(s), {} run, {} not run",
            report.skill, report.actions, report.executed, report.not_run
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
