//! leash-store's integration tests: real SQLite files, real mirror files, real
//! child processes, in temp dirs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod audit_chain;
mod concurrency;
mod crash;
mod group_crash;
mod held;
mod job_queue;
mod jobs_approvals;
mod migrations;
mod refusals;
mod support;
