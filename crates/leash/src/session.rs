//! What `leash exec` and `leash ask` both set up before doing anything: the
//! config with the `--mode` flag as the top layer, the workspace, the engine
//! for it, and the approval channel (the terminal when there is one).

use std::process::ExitCode;

use anyhow::Context;
use leash_config::LoadedConfig;
use leash_core::Engine;
use leash_core::approval::{Approver, NoApprover, TtyApprover};

use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

/// A loaded config and the engine for its workspace.
#[derive(Debug)]
pub struct Session {
    pub loaded: LoadedConfig,
    pub engine: Engine,
}

/// Loads the config (`--mode MODE` overrides `security.execution_mode`) and
/// opens the engine for the workspace: `security.workspace`, else the current
/// directory. `Err` carries the exit status for an invalid config.
pub fn open_session(
    global: &GlobalArgs,
    mode: Option<&str>,
) -> anyhow::Result<Result<Session, ExitCode>> {
    let mut overrides = global.overrides.clone();
    if let Some(mode) = mode {
        overrides.push(format!("security.execution_mode={mode}"));
    }
    let loaded = match load_config_or_exit(global, overrides) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(Err(code)),
    };
    let here = std::env::current_dir().context("cannot read the current directory")?;
    let workspace = loaded.config.security.workspace.clone().unwrap_or(here);
    let engine = Engine::open(&loaded, &workspace)
        .with_context(|| format!("cannot set up leash for workspace {}", workspace.display()))?;
    Ok(Ok(Session { loaded, engine }))
}

/// The terminal when this process has one; otherwise a channel that answers
/// every request "unavailable" (so nothing that needs a person runs), saying
/// why.
pub fn terminal_approver() -> Box<dyn Approver> {
    match TtyApprover::open() {
        Ok(tty) => Box::new(tty),
        Err(err) => Box::new(NoApprover {
            why: format!("no terminal to ask on ({err})"),
        }),
    }
}
