//! `leash approvals`, `leash approve ID [--nonce N]`, `leash deny ID [--nonce N]`:
//! answer the daemon's approval requests through its API.
//!
//! Without `--nonce` the command fetches the request (`GET /v1/approvals/{id}`,
//! which carries the nonce for the token holder) and answers as channel `cli`,
//! by `cli:<user>`. With `--nonce` — what a phone notification's button runs —
//! it answers directly as channel `termux`, by `notification:<user>`; a stale
//! or wrong nonce is refused by the daemon (exit 1) and audited there.

use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};

use crate::api_client::{ApiClient, answered_by};
use crate::cmd::jobs::{one_line, text, text_or_json};
use crate::escape::escape_line;
use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

/// Characters of a command line shown in the list.
const COMMAND_COLUMN: usize = 60;

#[derive(Debug, Args)]
pub struct ApprovalsArgs {
    /// Which requests: pending (default), approved, denied, expired, all.
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
}

#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The approval request's id (`leash approvals` lists them).
    pub id: i64,
    /// The request's nonce, as a notification button passes it. Without it
    /// the nonce is fetched from the daemon.
    #[arg(long, value_name = "NONCE")]
    pub nonce: Option<String>,
}

/// Which way an answer goes. Closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Approve,
    Deny,
}

impl Answer {
    fn route(self) -> &'static str {
        match self {
            Answer::Approve => "approve",
            Answer::Deny => "deny",
        }
    }
}

pub fn list(global: &GlobalArgs, args: ApprovalsArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let client = ApiClient::from_config(&loaded)?;
    let path = match &args.state {
        Some(state) if state.chars().all(|c| c.is_ascii_alphabetic()) => {
            format!("/v1/approvals?state={state}")
        }
        Some(state) => {
            anyhow::bail!("--state {state:?}: expected pending, approved, denied, expired or all")
        }
        None => "/v1/approvals".to_owned(),
    };
    let answer = client.get(&path)?;
    if global.json {
        println!("{answer}");
        return Ok(exit::success());
    }
    let approvals = answer["approvals"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if approvals.is_empty() {
        println!("no approval requests");
        return Ok(exit::success());
    }
    println!(
        "{:>6}  {:>6}  {:<9}  {:<19}  COMMAND",
        "ID", "JOB", "STATE", "EXPIRES"
    );
    for approval in approvals {
        println!(
            "{:>6}  {:>6}  {:<9}  {:<19}  {}",
            text_or_json(&approval["id"]),
            text_or_json(&approval["job_id"]),
            escape_line(text(&approval["state"])),
            escape_line(text(&approval["expires_at"]))
                .chars()
                .take(19)
                .collect::<String>(),
            one_line(&command_line(&approval["argv"]), COMMAND_COLUMN),
        );
    }
    Ok(exit::success())
}

pub fn answer(global: &GlobalArgs, args: AnswerArgs, answer: Answer) -> anyhow::Result<ExitCode> {
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let client = ApiClient::from_config(&loaded)?;
    let id = args.id;
    let (nonce, channel, by) = match args.nonce {
        Some(nonce) => (nonce, "termux", answered_by("notification")),
        None => {
            let shown = client.get(&format!("/v1/approvals/{id}"))?;
            let nonce = text(&shown["approval"]["nonce"]).to_owned();
            (nonce, "cli", answered_by("cli"))
        }
    };
    let body = json!({"nonce": nonce, "by": by, "channel": channel});
    let decided = client.post(
        &format!("/v1/approvals/{id}/{}", answer.route()),
        Some(&body),
    )?;
    if global.json {
        println!("{decided}");
    } else {
        let approval = &decided["approval"];
        println!(
            "approval {id} {}: {}",
            escape_line(text(&approval["state"])),
            escape_line(&command_line(&approval["argv"]))
        );
    }
    Ok(exit::success())
}

/// An argv as one line for people (JSON-quoted words where needed).
fn command_line(argv: &Value) -> String {
    argv.as_array()
        .map(|words| {
            words
                .iter()
                .map(|word| match word.as_str() {
                    Some(w) if !w.is_empty() && !w.contains(char::is_whitespace) => w.to_owned(),
                    Some(_) | None => word.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}
