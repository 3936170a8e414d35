//! The agent: a job's conversation with the model, and its proposed actions
//! carried out on the leash.

mod account;
mod actions;
mod context;
mod examples;
mod feedback;
mod grounding;
mod job_loop;
mod job_setup;
mod ls_times;
mod memory_guard;
mod named_paths;
mod read_only_task;
mod refusals;
mod run_shapes;
mod system_prompt;

pub use account::{ACCOUNT_OUTPUT_BYTES, ActionAccount, account};
pub use actions::{ActionResult, ActionScope, perform};
pub use context::{Conversation, estimate_tokens, untrusted_block};
pub use examples::{Example, ExampleLibrary, render_examples};
pub use feedback::results_message;
pub use grounding::grounded_message;
pub use job_loop::{AgentSettings, JobEnd, JobHooks, JobReport, JobSpec, run_job};
pub use job_setup::{DEFAULT_MAX_TOKENS, agent_settings, prompt_facts};
pub use ls_times::strip_ls_times;
pub use memory_guard::available_memory_mb;
pub use named_paths::named_paths;
pub use refusals::person_refusal;
pub use run_shapes::{MAX_ENTRIES, command_shapes, workspace_entries};
pub use system_prompt::{PromptFacts, runnable_programs, system_prompt};
