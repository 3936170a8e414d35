//! Chores: a request that names a verb and paths ("rename draft.txt to
//! final.txt", "how many lines does poem.txt have", "make a folder called x
//! and move y into it") becomes typed actions chosen among valid ones —
//! the verb × the operands the request names that exist (or may be made) in
//! the workspace. The model picks only when a clause has several valid
//! actions, under a grammar that offers exactly those; leash derives the
//! command or file action, which goes through policy → mode gate →
//! approval → sandbox → audit like any action. A request it cannot type
//! goes to the open agent loop.
//!
//! - [`verbs`]: the chore verbs and the words that say them.
//! - [`operands`]: what a clause names, typed by the workspace.
//! - [`plan`](mod@plan): clauses and their candidate actions.
//! - [`run_chore`]: the choice, the actions, a grounded account.

pub mod operands;
pub mod plan;
mod run;
pub mod verbs;

pub use plan::{Candidate, Step, plan};
pub use run::{CHORE, ChoreReport, Chosen, run_chore};
