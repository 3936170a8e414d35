//! leash-llm: where leash thinks.
//!
//! - [`action`]: the one definition of what a model may propose
//!   (`{"thought"?, "actions": [...], "done"}`), from which the GBNF grammar
//!   (embedded model) and the JSON schema (servers) are generated.
//! - [`backend`]: the [`Backend`] trait every model source implements.
//! - `grammar`, `schema`: [`actions_gbnf`] and [`actions_json_schema`], both
//!   generated from [`ActionKind`]'s table; `command_shapes`, `grammar_run`:
//!   typed `run` actions ([`CommandShapes`]: each program's own options and
//!   operands, paths from the workspace) for [`ProgramChoice::Typed`].
//! - `parse`: [`parse_response`] (think stripping, JSON, fenced blocks) and
//!   [`reask_message`] for malformed answers.
//! - `openai`, `replay`, `fallback`: [`OpenAiBackend`] (Chat Completions,
//!   streaming, presets), [`ReplayBackend`] (recorded transcripts) and
//!   [`FallbackChain`] (try the next backend, report each switch).
//! - `llama` (feature `llama`): the embedded llama.cpp backend, with KV-cache
//!   prefix reuse between steps and jobs.
//! - `managed`: [`ManagedServerBackend`], llama.cpp's `llama-server` run and
//!   supervised by leash (restarts, saved slots, the same grammar).
//! - `gguf`, `model_fetch`: what a model file is, and fetching the default one.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod action;
pub mod backend;
mod cancel;
mod command_shapes;
mod fallback;
mod gguf;
mod grammar;
mod grammar_run;
#[cfg(feature = "llama")]
mod llama;
mod managed;
mod model_fetch;
mod openai;
mod parse;
mod replay;
mod schema;
mod template_tokens;
mod threads;

pub use action::{
    Action, ActionKind, ActionPlan, FileWrite, MAX_ACTIONS_PER_ANSWER, MAX_ACTIONS_PER_PLAN,
    MAX_ARGV_ITEM_CHARS, MAX_ARGV_ITEMS, OwnedProgramChoice, Payload, PlanError, PlanProblem,
    ProgramChoice, SiblingKey, StringRole, Transfer,
};
pub use backend::{
    AnswerShape, Backend, BackendError, ChatMessage, FinishReason, GenerateRequest, Generation,
    OutputFormat, Role, TokenSink,
};
pub use cancel::{CancelToken, cancelled};
pub use command_shapes::{
    CommandShapes, MAX_OPERANDS, MAX_OPTIONS_PER_LEVEL, OptionShape, ProgramShape, SubcommandShape,
    WordKind, WordsShape,
};
pub use fallback::{BackendSwitch, FallbackChain, SwitchObserver};
pub use gguf::{GgufError, GgufInfo, ParameterCountSource, read_gguf_info};
pub use grammar::actions_gbnf;
#[cfg(feature = "llama")]
pub use llama::{LlamaBackend, LlamaConfig, llama_runtime};
/// The pinned `llama-cpp-2`, for code that needs the raw API next to the
/// backend in one process (the benchmarks' direct decode loop): llama.cpp may
/// be initialised only once, see [`llama_runtime`].
#[cfg(feature = "llama")]
pub use llama_cpp_2;
pub use managed::{
    ManagedServerBackend, ManagedServerConfig, ManagedServerStatus, ManagedServerStatusHandle,
};
pub use model_fetch::{
    DEFAULT_MODEL, FetchError, FetchOutcome, FetchReport, ModelSource, PipOptions, fetch_model,
    file_sha256,
};
pub use openai::{
    OPENAI_PRESETS, OpenAiBackend, OpenAiConfig, OpenAiPreset, OpenAiTimeouts, RetryPolicy,
    api_key_from_env, openai_preset,
};
pub use parse::{
    MAX_RESPONSE_BYTES, ParseError, ParsedResponse, PlanSource, answer_format_reminder,
    parse_response, reask_message,
};
pub use replay::{ReplayBackend, ReplayOrder, ReplayStep, Transcript};
pub use schema::{ACTIONS_SCHEMA_NAME, OrderedJson, actions_json_schema, actions_response_format};
pub use template_tokens::defuse_template_tokens;
pub use threads::{decode_threads_now, default_batch_thread_count, default_thread_count};
