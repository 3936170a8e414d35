//! leash-policy: the pure security core that decides whether a command the model
//! proposed may run.
//!
//! No async, no networking, no engine: a [`Policy`] is built once from
//! [`PolicySettings`] and then answers [`Policy::check_argv`] /
//! [`Policy::check_shell`] with a [`Verdict`] whose [`Decision`] is the strictest
//! of every rule that matched (deny > ask > allow).
//!
//! Argument knowledge admits known-safe shapes: every program the policy can
//! allow has a complete grammar (rules data in `src/rules/programs_*.yaml`,
//! checked by `grammar_check`), and anything outside it asks. Paths are judged
//! in their final form (`resolve`), repositories by meaning (`repo`). The same
//! grammars are exposed read-only through [`Policy::grammar`]. The model's
//! file actions are judged as what they are ([`Policy::check_file_action`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backup;
mod decision;
mod defaults;
mod error;
mod explain;
mod file_action;
mod grammar;
mod grammar_check;
mod grant;
mod learned;
mod limits;
mod options;
mod paths;
mod pattern;
mod policy;
mod program;
mod repo;
mod resolve;
mod rules;
mod scripts;
mod settings;
mod shell;
mod spec;
mod wrappers;
mod write_targets;

pub use decision::{Decision, ResolvedCommand, Verdict, VerdictOrigin};
pub use defaults::default_whitelist;
pub use error::PolicyError;
pub use explain::{Explanation, RuleMatch};
pub use file_action::FileAction;
pub use grammar::{
    ArgType, ArgsGrammar, CommandGrammar, OperandGrammar, OptionGrammar, ProgramGrammar, Style,
    SubcommandGrammar, ValueGrammar,
};
pub use grant::{GRANT_REST, GrantError, GrantPattern, suggest_grant, within_roots};
pub use learned::{LearnedRule, parse_learned_rules, render_learned_rules};
pub use limits::{MAX_ARG_BYTES, MAX_ARGS, MAX_LINE_BYTES, MAX_WRAPPER_DEPTH};
pub use policy::Policy;
pub use settings::{Platform, PolicySettings, RulesSource};
pub use write_targets::{WriteTarget, WriteTargets};
