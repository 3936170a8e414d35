//! `watch` triggers: a read-only command run every `poll_interval_s` — on a
//! phone `termux-battery-status`, `termux-notification-list`,
//! `termux-sms-list -l 5`; on Linux `df -h /`, `systemctl --failed` — whose
//! output, when it changed (and matches `match`, when set), becomes a job
//! with the old and the new output as untrusted data.
//!
//! - The command goes through the normal path: policy, mode gate, sandbox,
//!   audit. Nobody is there to approve, so it runs only when the policy
//!   allows it outright; in `prompt` mode allowed commands run as in
//!   `auto-approve` (the watch asks for nothing else), in `dry-run` and
//!   `audit-only` nothing runs and nothing fires.
//! - The first output after a start is the baseline: it fires only when a
//!   `match` is set and it matches.
//! - De-duplicated (the dedup key is the new output's hash: the same output
//!   is one job while pending and for `dedup_window_s`) and rate-limited (no
//!   job within `cooldown_s` of the last; a change meanwhile is kept and
//!   fires after the cooldown if it still holds).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leash_config::{ExecutionMode, LoadedConfig, TriggerConfig};
use leash_core::approval::NoApprover;
use leash_core::{CommandRequest, CommandStatus, Engine};
use regex::Regex;
use sha2::{Digest as _, Sha256};
use tokio::task::JoinHandle;

use crate::context::DaemonContext;
use crate::error::DaemonError;
use crate::intake::{TriggerEvent, TriggerPayload, TriggerSource};

/// The most of one output kept and shown to the model.
const MAX_OUTPUT_BYTES: usize = 16 << 10;

/// One configured `watch` trigger.
#[derive(Debug)]
pub(crate) struct WatchTrigger {
    trigger: TriggerConfig,
    argv: Vec<String>,
    interval: Duration,
    matcher: Option<Regex>,
    workspace: PathBuf,
}

/// What a watch remembers between runs (in memory: a restarted daemon takes
/// a new baseline).
#[derive(Debug, Default)]
struct WatchState {
    engine: Option<Engine>,
    /// The output the next run is compared with.
    last: Option<String>,
    last_fired: Option<Instant>,
    /// Why the command did not run last time (logged once per reason).
    last_refusal: Option<String>,
}

impl WatchTrigger {
    pub(crate) fn from_trigger(
        loaded: &LoadedConfig,
        trigger: &TriggerConfig,
    ) -> Result<Self, DaemonError> {
        let bad = |problem: String| DaemonError::Trigger {
            name: trigger.name.clone(),
            problem,
        };
        let argv = trigger
            .command
            .clone()
            .ok_or_else(|| bad("a watch needs `command`".to_owned()))?;
        let interval = trigger
            .poll_interval_s
            .map(Duration::from_secs)
            .ok_or_else(|| bad("a watch needs `poll_interval_s`".to_owned()))?;
        let matcher = trigger
            .match_pattern
            .as_deref()
            .map(Regex::new)
            .transpose()
            .map_err(|err| bad(format!("match: {err}")))?;
        let workspace = trigger
            .workspace
            .clone()
            .or_else(|| loaded.config.security.workspace.clone())
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("/"));
        Ok(WatchTrigger {
            trigger: trigger.clone(),
            argv,
            interval,
            matcher,
            workspace,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.trigger.name
    }

    pub(crate) fn spawn(
        self,
        ctx: Arc<DaemonContext>,
        rt: &tokio::runtime::Handle,
    ) -> JoinHandle<()> {
        rt.spawn(self.run(ctx))
    }

    async fn run(self, ctx: Arc<DaemonContext>) {
        let watch = Arc::new(self);
        let state = Arc::new(Mutex::new(WatchState::default()));
        tracing::info!(trigger = %watch.trigger.name, argv = ?watch.argv, "watch trigger running");
        loop {
            let (task_watch, task_state, task_ctx) =
                (Arc::clone(&watch), Arc::clone(&state), Arc::clone(&ctx));
            let checked = tokio::task::spawn_blocking(move || {
                let mut state = match task_state.lock() {
                    Ok(guard) => guard,
                    Err(poisoned) => poisoned.into_inner(),
                };
                task_watch.check(&task_ctx, &mut state)
            })
            .await;
            match checked {
                Ok(Ok(())) => {}
                Ok(Err(DaemonError::ShuttingDown)) => return,
                Ok(Err(err)) => {
                    tracing::warn!(trigger = %watch.trigger.name, error = %err, "watch check failed")
                }
                Err(err) => {
                    tracing::error!(trigger = %watch.trigger.name, error = %err, "watch check panicked")
                }
            }
            tokio::select! {
                () = ctx.stopped() => return,
                () = tokio::time::sleep(watch.interval) => {}
            }
        }
    }

    /// Runs the command once and fires when it should.
    fn check(&self, ctx: &DaemonContext, state: &mut WatchState) -> Result<(), DaemonError> {
        if ctx.is_stopping() {
            return Err(DaemonError::ShuttingDown);
        }
        if state.engine.is_none() {
            state.engine = Some(Engine::open(&ctx.loaded, &self.workspace)?);
        }
        let Some(engine) = state.engine.as_ref() else {
            return Ok(());
        };
        let mut params = engine.default_params();
        if params.mode == ExecutionMode::Prompt {
            params.mode = ExecutionMode::AutoApprove;
        }
        let approver = NoApprover {
            why: format!(
                "watch trigger {}: nobody is asked for a watch command",
                self.trigger.name
            ),
        };
        let report = engine.runner(&params, &approver).run(&CommandRequest {
            argv: self.argv.clone(),
            cwd: self.workspace.clone(),
            job_id: None,
        })?;
        let CommandStatus::Ran(outcome) = report.status else {
            let why = format!(
                "{}: {}",
                report.not_run_label().unwrap_or("not run"),
                report.verdict.reason
            );
            if state.last_refusal.as_deref() != Some(why.as_str()) {
                tracing::warn!(trigger = %self.trigger.name, %why, "the watch command did not run");
                state.last_refusal = Some(why);
            }
            return Ok(());
        };
        state.last_refusal = None;
        let mut bytes = outcome.stdout.bytes;
        bytes.truncate(MAX_OUTPUT_BYTES);
        let output = String::from_utf8_lossy(&bytes).into_owned();
        let matches = self.matcher.as_ref().is_none_or(|m| m.is_match(&output));
        let fire = match &state.last {
            None => self.matcher.is_some() && matches,
            Some(previous) => *previous != output && matches,
        };
        let cooling = state.last_fired.is_some_and(|at| {
            at.elapsed() < Duration::from_secs(self.trigger.cooldown_s.unwrap_or(0))
        });
        if fire && cooling {
            // Keep the old baseline: the change fires after the cooldown.
            return Ok(());
        }
        let previous = state.last.replace(output.clone());
        if !fire {
            return Ok(());
        }
        state.last_fired = Some(Instant::now());
        let digest = hex::encode(Sha256::digest(output.as_bytes()));
        let event = TriggerEvent {
            source: TriggerSource::Watch,
            trigger_name: Some(self.trigger.name.clone()),
            prompt: self.trigger.prompt.clone().unwrap_or_default(),
            payload: Some(TriggerPayload {
                label: format!("output of `{}`, before and now", self.argv.join(" ")),
                text: format!(
                    "--- before ---\n{}\n--- now ---\n{output}",
                    previous.as_deref().unwrap_or("(first reading)")
                ),
            }),
            mode: self.trigger.mode,
            workspace: self.trigger.workspace.clone(),
            priority: i64::from(self.trigger.priority),
            dedup_key: Some(format!(
                "watch:{}:{}",
                self.trigger.name,
                digest.get(..16).unwrap_or(&digest)
            )),
            dedup_window: Duration::from_secs(self.trigger.dedup_window_s),
            claim: None,
        };
        ctx.admit(event)?;
        Ok(())
    }
}
