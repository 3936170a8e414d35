//! `leash doctor` (placeholder until its issue lands).

use std::process::ExitCode;

use clap::Args;

use crate::global::GlobalArgs;

#[derive(Debug, Args)]
pub struct DoctorArgs {}

pub fn run(_global: &GlobalArgs, _args: DoctorArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`leash doctor` is not built yet")
}
