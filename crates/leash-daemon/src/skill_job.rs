//! Daemon jobs through skills: a trigger that names a skill (`skill:
//! organize`) runs its jobs through it; jobs submitted over the API or the
//! CLI go through the routing step (which skill, or the open agent loop)
//! when `skills.route` is on. Each job's actions take the same path as in the
//! open loop: policy → mode gate → approval → sandbox → audit.

use leash_core::approval::Approver;
use leash_core::{BackendPool, Engine, JobParams, StepKind, model_name_for};
use leash_llm::Backend;
use leash_skills::{Route, SkillJob, SkillSet, SkillSettings, route, run_skill};
use leash_store::{Job, JobState, TriggerSource};
use serde_json::{Value, json};

use crate::context::DaemonContext;
use crate::error::DaemonError;

/// What became of a job the skill path took: its end state and result.
pub(crate) type SkillEnd = (JobState, Value, Vec<leash_llm::ChatMessage>);

/// Runs `job` through a skill when its trigger names one or the routing
/// step picks one; `Ok(None)` when the open agent loop should run it.
pub(crate) fn run_skill_job(
    ctx: &DaemonContext,
    plan_backend: &mut dyn Backend,
    engine: &Engine,
    approver: &dyn Approver,
    job: &Job,
    params: &JobParams,
    payload: Option<(&str, &str)>,
) -> Result<Option<SkillEnd>, DaemonError> {
    let loaded = &ctx.loaded;
    let trigger = job
        .trigger_name
        .as_ref()
        .and_then(|name| loaded.config.triggers.iter().find(|t| &t.name == name));
    let named = trigger.and_then(|t| t.skill.as_deref());
    let routed_kind = match job.trigger_kind {
        TriggerSource::Http | TriggerSource::Cli => true,
        TriggerSource::File
        | TriggerSource::Schedule
        | TriggerSource::Git
        | TriggerSource::Watch
        | TriggerSource::Fleet => false,
    };
    if named.is_none() && !(routed_kind && loaded.config.skills.route) {
        return Ok(None);
    }
    let skills = match SkillSet::load(
        loaded.config.skills.dir.as_deref(),
        &loaded.config.skills.disabled,
    ) {
        Ok(skills) => skills,
        Err(err) => return Ok(Some(failed(format!("the skills cannot be loaded: {err}")))),
    };
    let split = |line: &str| engine.policy.check_shell(line).command.map(|c| c.argv);
    let trigger_model = trigger.and_then(|t| t.model.as_deref());
    let plan_name = model_name_for(loaded, StepKind::Plan, &[trigger_model]);
    let mut pool = BackendPool::with_remote(ctx.fleet_models.get().cloned());
    let chosen = match named {
        Some(name) => {
            let skill = match skills.get(name) {
                Ok(skill) => skill,
                Err(err) => return Ok(Some(failed(err.to_string()))),
            };
            match leash_skills::inputs::resolve(skill, &job.prompt, &engine.workspace, &split) {
                Ok(inputs) => Some((skill, inputs)),
                Err(why) => {
                    routed(
                        engine,
                        job.id,
                        None,
                        &format!("skill {name} does not apply: {why}"),
                    )?;
                    None
                }
            }
        }
        None => {
            let route_name = model_name_for(loaded, StepKind::Route, &[]);
            let backend: &mut dyn Backend = if route_name == plan_name {
                &mut *plan_backend
            } else {
                match pool.for_step(loaded, StepKind::Route, &[]) {
                    Ok((backend, _)) => backend,
                    Err(err) => return Ok(Some(failed(format!("the routing model: {err}")))),
                }
            };
            match route(backend, &skills, &job.prompt, &engine.workspace, &split, 64) {
                Ok(Route::Skill { skill, inputs }) => {
                    routed(
                        engine,
                        job.id,
                        Some(&skill.name),
                        "chosen by the routing step",
                    )?;
                    Some((skill, inputs))
                }
                Ok(Route::Open { why }) => {
                    routed(engine, job.id, None, &why)?;
                    None
                }
                Err(err) => {
                    routed(engine, job.id, None, &format!("routing failed: {err}"))?;
                    None
                }
            }
        }
    };
    let Some((skill, inputs)) = chosen else {
        return Ok(None);
    };
    let preferred = [trigger_model, skill.model.as_deref()];
    let backend: &mut dyn Backend =
        if model_name_for(loaded, StepKind::Skill, &preferred) == plan_name {
            plan_backend
        } else {
            match pool.for_step(loaded, StepKind::Skill, &preferred) {
                Ok((backend, _)) => backend,
                Err(err) => return Ok(Some(failed(format!("the skill's model: {err}")))),
            }
        };
    let settings = SkillSettings::from_config(loaded);
    let job_id = job.id;
    let mut on_notify = |text: &str| tracing::info!(job = job_id, text, "notify");
    let report = match run_skill(
        engine,
        backend,
        approver,
        skill,
        inputs,
        &SkillJob {
            job_id: Some(job.id),
            request: &job.prompt,
            payload,
            params,
        },
        settings,
        &mut on_notify,
    ) {
        Ok(report) => report,
        Err(leash_skills::SkillError::Engine(err)) => return Err(err.into()),
        Err(leash_skills::SkillError::Audit(err)) => return Err(err.into()),
        Err(err) => return Ok(Some(failed(err.to_string()))),
    };
    ctx.metrics
        .commands_started
        .fetch_add(report.executed as u64, std::sync::atomic::Ordering::Relaxed);
    // A skill job is never stopped from outside (it has no stop check), so
    // nobody can have asked to cancel what it ended as.
    let state = report.end.final_state(false);
    let result = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
    Ok(Some((state, result, report.conversation)))
}

fn failed(reason: String) -> SkillEnd {
    (
        JobState::Failed,
        json!({"end": "failed", "reason": reason}),
        Vec::new(),
    )
}

fn routed(engine: &Engine, job_id: i64, skill: Option<&str>, why: &str) -> Result<(), DaemonError> {
    engine.audit.append_typed(
        Some(job_id),
        &leash_protocol::audit::JobRouted {
            skill: skill.unwrap_or(leash_skills::NONE).to_owned(),
            why: why.to_owned(),
        },
    )?;
    Ok(())
}
