//! leash-llm's integration tests (one binary; the llama backend's own tests
//! live in `llama_*.rs` next to this directory).
// Test helpers (the HTTP server, the GBNF and schema oracles) may panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod agreement;
mod fallback;
mod gbnf;
mod openai;
mod parse;
mod replay;
mod schema_check;
mod server;
mod typed_grammar;
