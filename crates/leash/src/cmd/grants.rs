//! `leash grants [--all]`, `leash grants revoke ID`: the person's standing
//! grants, through the daemon's API (`GET /v1/grants`,
//! `POST /v1/grants/{id}/revoke`). Grants are made while approving
//! (`leash approve ID --grant …`), on the web page, or with `POST /v1/grants`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::api_client::{ApiClient, answered_by};
use crate::cmd::jobs::{one_line, text, text_or_json};
use crate::escape::escape_line;
use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

/// Characters of a pattern shown in the list.
const PATTERN_COLUMN: usize = 50;

#[derive(Debug, Args)]
pub struct GrantsArgs {
    /// Also list revoked and expired grants.
    #[arg(long)]
    pub all: bool,
    #[command(subcommand)]
    pub action: Option<GrantsAction>,
}

#[derive(Debug, Subcommand)]
pub enum GrantsAction {
    /// Revoke a grant: from now on its shape is asked about again.
    Revoke {
        /// The grant's id (`leash grants` lists them).
        id: i64,
    },
}

pub fn run(global: &GlobalArgs, args: GrantsArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let client = ApiClient::from_config(&loaded)?;
    match args.action {
        Some(GrantsAction::Revoke { id }) => {
            let body = json!({"by": answered_by("cli")});
            let revoked = client.post(&format!("/v1/grants/{id}/revoke"), Some(&body))?;
            if global.json {
                println!("{revoked}");
            } else {
                println!(
                    "grant {id} revoked: {}",
                    escape_line(text(&revoked["grant"]["pattern"]))
                );
            }
            Ok(exit::success())
        }
        None => {
            let path = if args.all {
                "/v1/grants?all=true"
            } else {
                "/v1/grants"
            };
            let answer = client.get(path)?;
            if global.json {
                println!("{answer}");
                return Ok(exit::success());
            }
            print_list(
                answer["grants"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
            );
            Ok(exit::success())
        }
    }
}

fn print_list(grants: &[Value]) {
    if grants.is_empty() {
        println!("no grants");
        return;
    }
    println!(
        "{:>5}  {:<22}  {:<20}  {:>4}  PATTERN",
        "ID", "SCOPE", "EXPIRES", "USES"
    );
    for grant in grants {
        let scope = format!(
            "{}:{}",
            text(&grant["scope"]["kind"]),
            text_or_json(&grant["scope"]["value"])
        );
        let expires = match (&grant["revoked_at"], grant["expires_at"].as_str()) {
            (Value::String(_), _) => "revoked".to_owned(),
            (_, Some(at)) => at.chars().take(19).collect(),
            (_, None) => "until revoked".to_owned(),
        };
        println!(
            "{:>5}  {:<22}  {:<20}  {:>4}  {}",
            text_or_json(&grant["id"]),
            one_line(&escape_line(&scope), 22),
            escape_line(&expires),
            text_or_json(&grant["uses"]),
            one_line(text(&grant["pattern"]), PATTERN_COLUMN),
        );
    }
}
