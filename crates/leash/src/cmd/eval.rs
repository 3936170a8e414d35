//! `leash eval`: runs the usefulness suite (leash-eval) against the model the
//! config names (any backend; `--backend` or `--set model.…=…` to change it)
//! and prints done/total per category, harm, steps, approvals asked and
//! seconds (`--json`: one document with every task).
//!
//! Exit status: 0 when no task did harm (the score is reported, not judged),
//! 1 when any task did harm (with `--fail-on damage`: when any task damaged
//! what the person had; clutter is still reported), 2 for bad input.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use leash_eval::{RunOptions, Task, TaskResult, builtin_tasks, run_task, summary};
use serde_json::Value;

use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A directory of task files (`*.yaml`) instead of the built-in suite.
    #[arg(long, value_name = "DIR")]
    pub tasks: Option<PathBuf>,
    /// Run only tasks whose name or category contains this (repeatable).
    #[arg(long, value_name = "TEXT")]
    pub only: Vec<String>,
    /// The model backend for every task (llama, openai, replay, llama-server);
    /// default: model.backend of the config.
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// Model turns per task.
    #[arg(long, default_value_t = 4)]
    pub max_steps: u32,
    /// Tokens the model may generate per turn.
    #[arg(long, default_value_t = 160)]
    pub max_tokens: u32,
    /// Seconds a task may take before it is stopped (and counted not done).
    #[arg(long, default_value_t = 120)]
    pub timeout_s: u64,
    /// Send every task to `leash ask` as a person would, even those a
    /// trigger would route through a skill.
    #[arg(long)]
    pub no_skills: bool,
    /// Send every task through the routing step (no `--skill`) and report
    /// how often it chose the task's skill, or the open loop for a chore.
    #[arg(long, conflicts_with = "no_skills")]
    pub route_all: bool,
    /// Which harm fails the run (exit 1): `any` (clutter left outside the
    /// task, or damage to what the person had), or `damage` only.
    #[arg(long, value_enum, default_value_t = FailOn::Any)]
    pub fail_on: FailOn,
    /// Every action waits for approval (`prompt` mode) and a scripted person
    /// answers: yes to what the task's checks need, no (with a reason) to
    /// the rest. The figures then count refusals and re-proposals.
    /// `--person` or `--person approve-once`: every yes is for one request;
    /// `--person grant`: the first yes of each shape is a workspace-scoped
    /// grant of that shape (the figures then count grants made and used).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "approve-once",
          value_name = "KIND")]
    pub person: Option<PersonArg>,
    /// Whether a refusal's reason reaches the model
    /// (`approvals.learn_from_refusals`), to compare before and after.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub refusal_feedback: Switch,
}

/// How the scripted person says yes (see [`leash_eval::person::PersonKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PersonArg {
    ApproveOnce,
    Grant,
}

impl From<PersonArg> for leash_eval::person::PersonKind {
    fn from(arg: PersonArg) -> leash_eval::person::PersonKind {
        match arg {
            PersonArg::ApproveOnce => leash_eval::person::PersonKind::ApproveOnce,
            PersonArg::Grant => leash_eval::person::PersonKind::Grant,
        }
    }
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// Config merged over every task's: no skills (the jobs go to the open
/// agent loop, as before skills) and the refusal-feedback switch.
fn extra_config(args: &EvalArgs) -> Value {
    let mut extra = serde_json::json!({
        "approvals": {"learn_from_refusals": args.refusal_feedback == Switch::On},
    });
    if args.no_skills {
        extra["skills"] = serde_json::json!({"route": false});
    }
    extra
}

/// Which harm makes `leash eval` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Any harm: a stray path outside the task, or damage.
    Any,
    /// Only damage: something the person had changed, vanished or was lost.
    Damage,
}

pub fn run(global: &GlobalArgs, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let fail_on = args.fail_on;
    let mut overrides = global.overrides.clone();
    if let Some(backend) = &args.backend {
        overrides.push(format!("model.backend={backend}"));
    }
    let loaded = match load_config_or_exit(global, overrides) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let mut tasks: Vec<Task> = match &args.tasks {
        Some(dir) => leash_eval::task::load_dir(dir)?,
        None => builtin_tasks()?,
    };
    if !args.only.is_empty() {
        tasks.retain(|task| {
            args.only.iter().any(|text| {
                task.name.contains(text.as_str()) || task.category.as_str() == text.as_str()
            })
        });
        if tasks.is_empty() {
            eprintln!("leash eval: no task matches {:?}", args.only);
            return Ok(exit::usage());
        }
    }
    let mut model = serde_json::to_value(&loaded.config.model)?;
    if let Some(path) = loaded.config.model.effective_path(&loaded.paths) {
        model["path"] = Value::String(path.display().to_string());
    }
    strip_nulls(&mut model);
    let run_dir = tempfile::Builder::new()
        .prefix("leash-eval-")
        .tempdir()
        .context("cannot make a directory for the run")?;
    let options = RunOptions {
        leash: std::env::current_exe().context("cannot find the leash binary itself")?,
        model,
        // Without skills, jobs go to the open agent loop, as before skills.
        extra_config: Some(extra_config(&args)),
        max_steps: args.max_steps,
        max_tokens: args.max_tokens,
        timeout: Duration::from_secs(args.timeout_s),
        use_skills: !args.no_skills && skills_available(),
        route_all: args.route_all,
        run_dir: run_dir.path().to_path_buf(),
        run_as: loaded
            .config
            .security
            .run_as
            .clone()
            .unwrap_or_else(|| "nobody".to_owned()),
        person: args.person.map(Into::into),
    };
    let mut results = Vec::with_capacity(tasks.len());
    for (n, task) in tasks.iter().enumerate() {
        let result = run_task(task, &options)?;
        eprintln!(
            "leash eval: [{}/{}] {} {} ({} steps, {:.1}s){}",
            n + 1,
            tasks.len(),
            task.name,
            if result.done { "done" } else { "not done" },
            result.steps,
            result.seconds,
            if result.harm.is_empty() {
                String::new()
            } else {
                let harm: Vec<String> = result.harm.iter().map(ToString::to_string).collect();
                format!(" HARM: {}", harm.join("; "))
            }
        );
        results.push(result);
    }
    if global.json {
        println!("{}", summary::to_json(&results));
    } else {
        print!("{}", summary::to_table(&results));
    }
    let failing = |r: &TaskResult| match fail_on {
        FailOn::Any => !r.harm.is_empty(),
        FailOn::Damage => r.damaged(),
    };
    if results.iter().any(failing) {
        Ok(exit::failure())
    } else {
        Ok(exit::success())
    }
}

/// Whether this binary routes jobs through skills (`leash ask --skill`).
fn skills_available() -> bool {
    true
}

/// The config loader wants absent keys, not nulls.
fn strip_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(strip_nulls);
    }
}
