//! leash-daemon's integration tests (one test binary for the crate; one module
//! per component).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod approvals;
mod grants_api;
mod http;
mod http_hygiene;
mod recovery;
mod refusal_reasons;
mod support;
mod triggers;
mod undo_api;
mod web_page;
mod webdriver;
