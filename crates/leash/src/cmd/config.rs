//! `leash config` (placeholder until its issue lands).

use std::process::ExitCode;

use clap::Subcommand;

use crate::global::GlobalArgs;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Placeholder.
    Placeholder,
}

pub fn run(_global: &GlobalArgs, _command: ConfigCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`leash config` is not built yet")
}
