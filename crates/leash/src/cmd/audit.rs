//! `leash audit` (placeholder until its issue lands).

use std::process::ExitCode;

use clap::Subcommand;

use crate::global::GlobalArgs;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Placeholder.
    Placeholder,
}

pub fn run(_global: &GlobalArgs, _command: AuditCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`leash audit` is not built yet")
}
