//! leash-core: the engine that connects the security core to the outside world.
//!
//! - [`Engine`]: policy, sandbox, audit log and learned rules for one workspace,
//!   assembled from a loaded config; [`JobParams`]: what one job brings to it.
//! - [`CommandRunner`]: one command through policy → mode gate → approval →
//!   sandbox → audit.
//! - [`control_files`]: git config and hooks, shell start-up files and
//!   leash's own files, recorded before each command and reverted after.
//! - [`RunAsDecision`]: whom commands run as when leash is root.
//! - [`gate`]: the execution-mode table.
//! - [`approval`]: approval requests and channels (the terminal, for now).
//! - [`agent`]: a job's conversation with the model and its actions on the leash.
//! - [`StepKind`], [`BackendPool`]: which named model each step uses.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agent;
pub mod approval;
mod backends;
mod command_runner;
pub mod control_files;
mod engine;
mod error;
mod grant_making;
mod grants;
mod job_params;
mod learned_rules;
mod mode_gate;
mod model_choice;
mod outcome_json;
mod policy_settings;
mod refusal_memory;
mod run_as;
mod sandbox_template;
mod undo_hook;

pub use backends::{RemoteModels, SharedRemoteModels, SwitchLog, open_backend, open_backend_with};
pub use command_runner::{
    Cleared, CommandReport, CommandRequest, CommandRunner, CommandStatus, Judged, NotRunReason,
};
pub use engine::{Engine, ensure_private_dir, open_audit_log, open_journal};
pub use error::EngineError;
pub use grant_making::{
    GrantDraft, GrantRefusal, MAX_GRANT_MINUTES, grant_to_make, record_grant_created,
};
pub use grants::{GrantBook, GrantContext};
pub use job_params::JobParams;
pub use learned_rules::LearnedRulesFile;
pub use mode_gate::{GateOutcome, gate};
pub use model_choice::{
    BackendPool, StepKind, config_for_model, model_name_for, open_step_backend,
};
pub use outcome_json::outcome_payload;
pub use policy_settings::policy_settings;
pub use refusal_memory::refused_before;
pub use run_as::{RunAsDecision, hand_over, hand_over_if_root};
pub use sandbox_template::SandboxTemplate;
pub use undo_hook::undo_roots;
