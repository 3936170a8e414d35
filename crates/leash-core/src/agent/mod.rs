//! The agent: a job's conversation with the model, and its proposed actions
//! carried out on the leash.

mod actions;
mod context;
mod feedback;
mod job_loop;
mod job_setup;
mod memory_guard;
mod system_prompt;

pub use actions::{ActionResult, ActionScope, perform};
pub use context::{Conversation, estimate_tokens, untrusted_block};
pub use feedback::results_message;
pub use job_loop::{AgentSettings, JobEnd, JobHooks, JobReport, JobSpec, run_job};
pub use job_setup::{DEFAULT_MAX_TOKENS, agent_settings, prompt_facts};
pub use memory_guard::available_memory_mb;
pub use system_prompt::{PromptFacts, system_prompt};
