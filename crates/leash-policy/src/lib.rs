//! leash-policy: the pure security core that decides whether a command the model
//! proposed may run.
//!
//! No async, no networking, no engine: a [`Policy`] is built once from
//! [`PolicySettings`] and then answers [`Policy::check_argv`] /
//! [`Policy::check_shell`] with a [`Verdict`] whose [`Decision`] is the strictest
//! of every rule that matched (deny > ask > allow).

mod decision;
mod settings;

pub use decision::{Decision, ResolvedCommand, Verdict};
pub use settings::{PolicySettings, RulesSource};
