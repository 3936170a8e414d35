//! leash-llm: where leash thinks.
//!
//! - [`action`]: the one definition of what a model may propose
//!   (`{"thought"?, "actions": [...], "done"}`), from which the GBNF grammar
//!   (embedded model) and the JSON schema (servers) are generated.
//! - [`backend`]: the [`Backend`] trait every model source implements.

pub mod action;
pub mod backend;
mod grammar;
mod parse;
mod schema;

pub use action::{
    Action, ActionKind, ActionPlan, FileWrite, MAX_ACTIONS_PER_PLAN, Payload, PlanError,
    PlanProblem, SiblingKey, StringRole, Transfer,
};
pub use backend::{
    Backend, BackendError, ChatMessage, FinishReason, GenerateRequest, Generation, OutputFormat,
    Role, TokenSink,
};
pub use grammar::actions_gbnf;
pub use parse::{
    MAX_RESPONSE_BYTES, ParseError, ParsedResponse, PlanSource, answer_format_reminder,
    parse_response, reask_message,
};
pub use schema::{
    ACTIONS_SCHEMA_NAME, OrderedJson, actions_json_schema, actions_response_format,
};
