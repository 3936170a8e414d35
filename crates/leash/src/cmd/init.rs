//! `leash init` (placeholder until its issue lands).

use std::process::ExitCode;

use clap::Args;

use crate::global::GlobalArgs;

#[derive(Debug, Args)]
pub struct InitArgs {}

pub fn run(_global: &GlobalArgs, _args: InitArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`leash init` is not built yet")
}
