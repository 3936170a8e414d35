//! `leash web-login`: asks the daemon for a one-time login link to its web
//! page (`POST /v1/web/login-link`, token required) and prints it. The link
//! works once, for two minutes, and turns into a session cookie.

use std::process::ExitCode;

use clap::Args;

use crate::api_client::ApiClient;
use crate::cmd::jobs::text;
use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

#[derive(Debug, Args)]
pub struct WebLoginArgs {}

pub fn run(global: &GlobalArgs, _args: WebLoginArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let client = ApiClient::from_config(&loaded)?;
    let answer = client.post("/v1/web/login-link", None)?;
    if global.json {
        println!("{answer}");
    } else {
        println!("{}", text(&answer["url"]));
    }
    Ok(exit::success())
}
