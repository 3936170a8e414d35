//! What belongs to one job rather than to the engine of its workspace: the
//! mode it runs in, the argvs it must not repeat without asking, and the
//! trigger that queued it. The daemon keeps one [`Engine`](crate::Engine)
//! per workspace for its whole life and runs job after job on it; these
//! travel with each job instead of being set on the shared engine, so no job
//! can run under the mode, the repeat guard or the trigger scope of the job
//! before it (a `prompt` job after an `auto-approve` one still asks).

use leash_config::ExecutionMode;

/// One job's parameters, passed with every call that judges or runs for it
/// ([`Engine::runner`](crate::Engine::runner), the agent loop's
/// [`JobSpec`](crate::agent::JobSpec), a skill's job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobParams {
    /// What happens to a decided action: the job's own mode, else
    /// `security.execution_mode`.
    pub mode: ExecutionMode,
    /// Argvs an earlier attempt of this job started without a recorded end
    /// (see [`CommandRunner::must_ask`](crate::CommandRunner::must_ask)):
    /// never repeated without a person's approval. The daemon fills it for a
    /// job that runs again after an interruption.
    pub must_ask: Vec<Vec<String>>,
    /// The trigger that queued the job: trigger-scoped grants apply to its
    /// jobs only, and the shapes people refused for it are listed in its
    /// prompts.
    pub trigger: Option<String>,
}

impl JobParams {
    /// A job in `mode` that came from no trigger and has nothing it must ask
    /// before repeating (`leash exec`, `leash ask`, a first attempt).
    pub fn in_mode(mode: ExecutionMode) -> JobParams {
        JobParams {
            mode,
            must_ask: Vec::new(),
            trigger: None,
        }
    }
}
