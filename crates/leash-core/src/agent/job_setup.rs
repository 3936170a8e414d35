//! What every job needs from the config besides the engine: the agent's limits
//! and sampling settings, and the facts the system prompt states. `leash ask`
//! and the daemon's worker build them the same way, so a job behaves the same
//! in the foreground and in the daemon.

use leash_config::{ExecutionMode, LoadedConfig};

use super::job_loop::AgentSettings;
use super::system_prompt::PromptFacts;
use crate::engine::Engine;

/// Tokens the model may generate per step unless `model.max_tokens` says otherwise.
pub const DEFAULT_MAX_TOKENS: u32 = 512;

/// Tokens kept free besides the answer, for the chat template's own tokens.
const TEMPLATE_SLACK_TOKENS: usize = 64;

/// `agent.*` and `model.*` as one job's settings.
pub fn agent_settings(loaded: &LoadedConfig) -> AgentSettings {
    let config = &loaded.config;
    let max_tokens = config.model.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    AgentSettings {
        max_steps: config.agent.max_steps,
        max_parse_retries: config.agent.max_parse_retries,
        max_tokens,
        temperature: config.model.temperature as f32,
        context_budget: usize::try_from(config.model.context_size.saturating_sub(max_tokens))
            .unwrap_or(usize::MAX)
            .saturating_sub(TEMPLATE_SLACK_TOKENS),
        min_free_memory_mb: config.agent.min_free_memory_mb,
    }
}

/// The facts the system prompt states, for a job in `mode` on `engine`'s
/// workspace.
pub fn prompt_facts(loaded: &LoadedConfig, engine: &Engine, mode: ExecutionMode) -> PromptFacts {
    let security = &loaded.config.security;
    PromptFacts {
        mode,
        programs: security
            .whitelist
            .clone()
            .unwrap_or_else(leash_policy::default_whitelist),
        never: security.blacklist.clone(),
        approval: security.require_approval_for.clone(),
        workspace: engine.workspace.clone(),
        write_roots: security.paths.write.clone(),
        network: security.network,
        max_steps: loaded.config.agent.max_steps,
    }
}
