//! `leash exec` (placeholder until its issue lands).

use std::process::ExitCode;

use clap::Args;

use crate::global::GlobalArgs;

#[derive(Debug, Args)]
pub struct ExecArgs {}

pub fn run(_global: &GlobalArgs, _args: ExecArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`leash exec` is not built yet")
}
