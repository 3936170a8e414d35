//! `leash ask [--mode MODE] [--json] PROMPT…`: one job in the foreground. The
//! model's answers stream to stderr as they are generated (or a progress line
//! per step when stderr is not a terminal), approvals are asked on the
//! terminal, and the job, its conversation and every step are recorded. It
//! ends with a plain account on stdout: each action, the policy's decision,
//! what became of it and the output of what ran (capped, escaped for the
//! terminal), then the model's final message; `--json` carries the same
//! (`report.account`, `final_message`).
//!
//! Exit status: 0 when the model finished the task, 1 when the job failed
//! (model unavailable, unparseable output, not enough memory) or ran out of
//! steps, 2 for bad input.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Args;
use leash_core::agent::{
    ActionAccount, JobEnd, JobHooks, JobReport, JobSpec, agent_settings, grounded_message,
    prompt_facts, run_job, system_prompt,
};
use leash_core::{StepKind, open_step_backend};
use leash_store::{JobState, NewJob, Store, TriggerSource};
use serde_json::json;

use crate::escape::{escape_line, escape_text};
use crate::exit;
use crate::global::GlobalArgs;
use crate::session::{Session, open_session, terminal_approver};

#[derive(Debug, Args)]
pub struct AskArgs {
    /// Execution mode for this job: auto-approve, prompt, dry-run, audit-only
    /// (default: security.execution_mode).
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
    /// Don't stream the model's text to stderr (print a progress line per step).
    #[arg(long)]
    pub quiet: bool,
    /// Run the job through this skill (as a trigger naming it would),
    /// instead of letting the routing step choose.
    #[arg(long, value_name = "NAME")]
    pub skill: Option<String>,
    /// Approvals are answered by a scripted person (a JSON file written by
    /// `leash eval --person`; channel `script`) instead of the terminal.
    #[arg(long, value_name = "FILE")]
    pub person: Option<std::path::PathBuf>,
    /// What to do, in plain words.
    #[arg(required = true, num_args = 1.., value_name = "PROMPT")]
    pub prompt: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: AskArgs) -> anyhow::Result<ExitCode> {
    let task = args.prompt.join(" ");
    if task.trim().is_empty() {
        eprintln!("leash ask: the prompt is empty");
        return Ok(exit::usage());
    }
    let Session { loaded, engine } = match open_session(global, args.mode.as_deref())? {
        Ok(session) => session,
        Err(code) => return Ok(code),
    };
    let (mut backend, switches) = match open_step_backend(&loaded, StepKind::Plan, &[]) {
        Ok(opened) => opened,
        Err(err) => {
            eprintln!("leash ask: {err}");
            if loaded.config.model.backend == leash_config::Backend::Llama {
                eprintln!(
                    "  (fetch the default model with `leash model fetch`, or set model.path)"
                );
            }
            return Ok(exit::failure());
        }
    };
    let store = Store::open(&loaded.paths.database_file())?;
    // `--mode` is the config's top layer, so the engine's default is this job's mode.
    let params = engine.default_params();
    let job = store.insert_job(&NewJob {
        trigger_kind: TriggerSource::Cli,
        prompt: task.clone(),
        mode: Some(params.mode),
        workspace: Some(engine.workspace.display().to_string()),
        ..NewJob::default()
    })?;
    store.set_job_state(job.id, JobState::Running, None)?;

    let facts = prompt_facts(&loaded, &engine, params.mode);
    let settings = agent_settings(&loaded);
    let approver: Box<dyn leash_core::approval::Approver> = match &args.person {
        Some(file) => Box::new(leash_eval::person::ScriptedPerson::new(
            leash_eval::person::PersonScript::load(file)?,
            file.display().to_string(),
        )),
        None => terminal_approver(),
    };
    if let Some(code) = crate::skill_job::run_if_skill(crate::skill_job::AskContext {
        global,
        loaded: &loaded,
        engine: &engine,
        params: &params,
        store: &store,
        job_id: job.id,
        task: &task,
        skill: args.skill.as_deref(),
        approver: approver.as_ref(),
        plan_backend: backend.as_mut(),
    })? {
        return Ok(code);
    }

    let stream = !args.quiet && std::io::stderr().is_terminal();
    let mut print_text = |text: &str| {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(escape_text(text).as_bytes());
        let _ = stderr.flush();
    };
    let mut on_notify = |text: &str| eprintln!("\nleash: notify: {}", escape_text(text));
    let mut on_step = |step: u32| {
        if stream {
            eprintln!("\n-- step {step}");
        } else {
            eprintln!("leash: step {step}: asking the model");
        }
    };
    let report = run_job(
        &engine,
        backend.as_mut(),
        approver.as_ref(),
        &settings,
        system_prompt(&facts),
        &JobSpec {
            job_id: Some(job.id),
            task: task.clone(),
            payload: None,
            params,
        },
        JobHooks {
            on_text: if stream { Some(&mut print_text) } else { None },
            on_notify: &mut on_notify,
            on_step: &mut on_step,
            switches: Some(&switches),
            should_stop: None,
        },
    )?;
    for (position, message) in report.conversation.iter().enumerate() {
        let role = message.role.as_str();
        store.put_message(job.id, i64::try_from(position)?, role, &message.content)?;
    }
    let result = serde_json::to_value(&report)?;
    // The model's last words only where what ran backs them.
    let final_message = grounded_message(&task, &report);
    // Nothing stops a foreground job from outside (no `should_stop`), so
    // nobody can have asked to cancel it.
    let state = report.end.final_state(false);
    let code = exit::for_job_state(state);
    store.set_job_state(job.id, state, Some(&result))?;

    if global.json {
        println!(
            "{}",
            json!({
                "job": job.id,
                "state": state.as_str(),
                "final_message": final_message,
                "report": result,
            })
        );
    } else {
        eprintln!();
        print!("{}", plain_account(&report, final_message.as_deref()));
        match &report.end {
            JobEnd::Done => eprintln!(
                "leash: job {} done in {} step(s): {} action(s), {} run, {} not run",
                job.id, report.steps, report.actions, report.executed, report.not_run
            ),
            JobEnd::StepLimit => eprintln!(
                "leash: job {} stopped after {} steps (agent.max_steps) without finishing",
                job.id, report.steps
            ),
            JobEnd::Failed { reason } => {
                eprintln!("leash: job {} failed: {}", job.id, escape_text(reason))
            }
            JobEnd::Stopped { reason } => {
                eprintln!("leash: job {} stopped: {}", job.id, escape_text(reason))
            }
        }
    }
    Ok(code)
}

/// The account of a job for the terminal: one line per action (step, action,
/// decision and rule, result), the output of what ran indented below it,
/// then the model's final message. Everything that came from the model or a
/// command is escaped.
fn plain_account(report: &JobReport, final_message: Option<&str>) -> String {
    let mut out = String::new();
    if report.account.is_empty() {
        out.push_str("No actions.\n");
    }
    for ActionAccount {
        step,
        action,
        decision,
        rule,
        result,
        output,
    } in &report.account
    {
        let judged = match (decision, rule) {
            (Some(decision), Some(rule)) => format!("{decision} ({rule})"),
            (Some(decision), None) => decision.clone(),
            (None, _) => "not judged".to_owned(),
        };
        out.push_str(&format!(
            "[step {step}] {}: {judged}: {}\n",
            escape_line(action),
            escape_line(result)
        ));
        if let Some(output) = output {
            for line in escape_text(output.trim_end()).lines() {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    match (final_message, &report.last_thought) {
        (Some(message), _) => {
            out.push_str(&format!("The model says: {}\n", escape_line(message)));
        }
        (None, Some(_)) => out.push_str(
            "(The model's last message is not shown: it states facts that nothing that ran showed.)\n",
        ),
        (None, None) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_escapes_what_commands_printed() {
        let report = JobReport {
            end: JobEnd::Done,
            steps: 1,
            actions: 1,
            executed: 1,
            not_run: 0,
            notifications: vec![],
            last_thought: Some("30G free\x1b[2J".into()),
            account: vec![ActionAccount {
                step: 1,
                action: "run [\"df\",\"-h\"]".into(),
                decision: Some("allow".into()),
                rule: Some("seed.whitelist".into()),
                result: "exit status 0".into(),
                output: Some("Avail 30G\n\x1b]0;pwned\x07".into()),
            }],
            conversation: vec![],
        };
        let text = plain_account(&report, report.last_thought.as_deref());
        assert!(!text.contains('\x1b'), "{text}");
        assert!(
            text.contains("[step 1] run [\"df\",\"-h\"]: allow (seed.whitelist): exit status 0"),
            "{text}"
        );
        assert!(text.contains("    Avail 30G\n"), "{text}");
        assert!(text.contains("The model says: 30G free"), "{text}");
    }
}
