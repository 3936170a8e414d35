//! leash-llm's integration tests (one binary; the llama backend's own tests
//! live in `llama_*.rs` next to this directory).

mod agreement;
mod fallback;
mod gbnf;
mod openai;
mod parse;
mod replay;
mod schema_check;
mod server;
