//! leash-skills: the seed's use cases as typed workflows. A skill (YAML) says
//! what context leash gathers itself through policy-checked commands, the
//! question the model answers under a grammar derived from the skill, and,
//! by its kind, the actions leash derives from the answer — which then go
//! through policy → mode gate → approval → sandbox → audit like any action.
//!
//! - [`definition`]: the skill format and its kinds.
//! - [`SkillSet`]: built-in skills (organize, review, monitor, deploy) and
//!   the user's own.
//! - [`mentions`]: what the person's request names (paths, commands).
//! - [`inputs`]: a skill's inputs for one request, or why it does not apply.
//! - [`gather`]: the context commands, on the leash.
//! - [`shape`]: the answer's grammar, schema and parser.
//! - [`file_kind`]: the kind of file a name suggests, for a sort's question.
//! - [`derive`](mod@derive): the actions an answer leads to.
//! - [`route`](mod@route): the classification step (which skill, or the open loop).
//! - [`run_skill`]: one job through a skill (a sort's refused move goes
//!   back to its model step: `sort_again`).
//! - [`chore`]: file chores as typed actions (the verb × the named paths).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod catalog;
pub mod chore;
pub mod definition;
pub mod derive;
mod error;
pub mod file_kind;
pub mod gather;
pub mod inputs;
pub mod mentions;
pub mod route;
mod run;
pub mod shape;
mod sort_again;

pub use catalog::SkillSet;
pub use definition::{Kind, Skill};
pub use error::SkillError;
pub use route::{NONE, Route, route};
pub use run::{SkillJob, SkillReport, SkillSettings, run_skill};
