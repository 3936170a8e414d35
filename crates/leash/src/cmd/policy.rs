//! `leash policy` (placeholder until its issue lands).

use std::process::ExitCode;

use clap::Subcommand;

use crate::global::GlobalArgs;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Placeholder.
    Placeholder,
}

pub fn run(_global: &GlobalArgs, _command: PolicyCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`leash policy` is not built yet")
}
