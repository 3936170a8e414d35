//! Starting every configured trigger, and waiting for them to end.

use std::sync::Arc;

use leash_config::TriggerKind;
use tokio::task::JoinHandle;

use super::watch::WatchTrigger;
use crate::context::DaemonContext;
use crate::error::DaemonError;
use crate::triggers::file_rules::FilePlan;
use crate::triggers::file_watch::FileWatch;
use crate::triggers::git::GitTrigger;
use crate::triggers::schedule::Schedule;

/// The running triggers: one task for all file watches, one per schedule and
/// one per git trigger. They end when the daemon stops ([`DaemonContext::stop`]).
#[derive(Debug)]
pub struct TriggerSet {
    tasks: Vec<(String, JoinHandle<()>)>,
}

impl TriggerSet {
    /// The names of the running trigger tasks (`files`, then each schedule and
    /// git trigger by name).
    pub fn names(&self) -> Vec<&str> {
        self.tasks.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// Waits until every trigger task has ended (call after
    /// [`DaemonContext::stop`]; from sync code, `rt.block_on(set.join())`).
    pub async fn join(self) {
        for (name, task) in self.tasks {
            if let Err(err) = task.await {
                tracing::error!(trigger = %name, error = %err, "trigger task ended abnormally");
            }
        }
    }
}

/// Checks every trigger, then starts them on `rt`. Nothing starts unless all
/// are valid: a bad cron expression, an unknown time zone, a missing watch
/// directory or repository, a detached HEAD without `branch` — each fails
/// with [`DaemonError::Trigger`] naming the trigger. Watches are in place
/// when this returns (git triggers run `git` here, briefly).
pub fn start_triggers(
    ctx: &Arc<DaemonContext>,
    rt: &tokio::runtime::Handle,
) -> Result<TriggerSet, DaemonError> {
    let config = &ctx.loaded.config;
    let plan = FilePlan::from_config(config)?;
    let schedules = config
        .triggers
        .iter()
        .filter(|t| t.kind == TriggerKind::Schedule)
        .map(Schedule::from_trigger)
        .collect::<Result<Vec<_>, _>>()?;
    let gits = config
        .triggers
        .iter()
        .filter(|t| t.kind == TriggerKind::Git)
        .map(|t| GitTrigger::from_trigger(&ctx.loaded, t, plan.max_content))
        .collect::<Result<Vec<_>, _>>()?;
    let watches = config
        .triggers
        .iter()
        .filter(|t| t.kind == TriggerKind::Watch)
        .map(|t| WatchTrigger::from_trigger(&ctx.loaded, t))
        .collect::<Result<Vec<_>, _>>()?;
    let file_watch = if plan.dirs.is_empty() {
        None
    } else {
        Some(FileWatch::new(plan)?)
    };
    let gits = gits
        .into_iter()
        .map(|g| Ok((g.name().to_owned(), g.watch()?)))
        .collect::<Result<Vec<_>, DaemonError>>()?;
    let mut tasks = Vec::new();
    if let Some(file_watch) = file_watch {
        tasks.push(("files".to_owned(), file_watch.spawn(Arc::clone(ctx), rt)));
    }
    for schedule in schedules {
        let name = schedule.name().to_owned();
        tasks.push((name, schedule.spawn(Arc::clone(ctx), rt)));
    }
    for (name, git) in gits {
        tasks.push((name, git.spawn(Arc::clone(ctx), rt)));
    }
    for watch in watches {
        let name = watch.name().to_owned();
        tasks.push((name, watch.spawn(Arc::clone(ctx), rt)));
    }
    tracing::info!(tasks = tasks.len(), "triggers started");
    Ok(TriggerSet { tasks })
}
