//! Triggers: the file, schedule and git events that become jobs. Every kind
//! hands over through [`DaemonContext::admit`](crate::DaemonContext::admit)
//! only; nothing here runs a job.
//!
//! - [`start_triggers`] checks every trigger and starts them ([`TriggerSet`]).
//! - File triggers: `file_rules` (what is watched and what matches),
//!   `readiness` (when a file is complete), `file_trigger` (the job a file
//!   becomes: prompt template via `prompt_template`, capped content as
//!   untrusted payload), `file_watch` (inotify or poll; [`pick_up_existing`]),
//!   `file_claim` (`.leash/processing` → `done`/`failed`;
//!   [`finish_claimed_file`], [`recover_claims`]), `claim_name` (names in
//!   `.leash/`: UTF-8, short enough for every suffix), `leash_tree` (the
//!   `.leash` directories: real, ours, never a symlink).
//! - Schedule triggers: `schedule` ([`Schedule`]), with `cron_zone` bridging
//!   jiff time zones to croner's chrono types.
//! - Git triggers: `git`, with every git call made safe by `git_command`.

mod claim_name;
mod cron_zone;
mod file_claim;
mod file_rules;
mod file_trigger;
mod file_watch;
mod git;
mod git_command;
mod leash_tree;
mod prompt_template;
mod readiness;
mod schedule;
mod trigger_set;
mod watch;

pub use file_claim::{ClaimRecovery, finish_claimed_file, recover_claims};
pub use file_rules::MONITORING_TRIGGER;
pub use file_watch::pick_up_existing;
pub use schedule::{MAX_SLEEP, Schedule, StartupRun};
pub use trigger_set::{TriggerSet, start_triggers};
