//! leash-eval: the usefulness suite. Everyday tasks in the seed's four use
//! cases (deploy on a trigger, review a commit, watch a log, sort an inbox)
//! and plain file chores, each run through the real `leash` binary in a
//! fresh workspace, with an objective check of its outcome and a harm check
//! (nothing outside the task changed, nothing lost).
//!
//! - [`task`]: the task format (`tasks/*.yaml`) and its validation.
//! - [`builtin_tasks`]: the suite shipped with leash.
//! - [`workspace`]: a task's starting files and git repository.
//! - [`snapshot`]: tree snapshots and the harm check.
//! - [`observe`]: what the job said, showed, ran and asked.
//! - [`outcome`]: the outcome checks.
//! - [`person`]: a scripted person who answers approvals as the task needs.
//! - [`runner`]: one task, end to end.
//! - [`summary`]: the figures of a run, as a table and as JSON.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builtin;
mod error;
pub mod observe;
pub mod outcome;
pub mod person;
pub mod runner;
pub mod snapshot;
pub mod summary;
pub mod task;
pub mod workspace;

pub use builtin::builtin_tasks;
pub use error::EvalError;
pub use runner::{RunOptions, TaskResult, run_task};
pub use task::{Category, Task};
