//! `leash approvals`, `leash approve ID [--nonce N]`, `leash deny ID [--nonce N]`:
//! answer the daemon's approval requests through its API.
//!
//! Without `--nonce` the command fetches the request (`GET /v1/approvals/{id}`,
//! which carries the nonce for the token holder) and answers as channel `cli`,
//! by `cli:<user>`. With `--nonce` — what a phone notification's button runs —
//! it answers directly as channel `termux`, by `notification:<user>`; a stale
//! or wrong nonce is refused by the daemon (exit 1) and audited there.
//! The channel recorded is the one that really answered: `--via termux` (what
//! the notifier's buttons pass), else `cli` when a person types it at a
//! terminal; a `--nonce` answer from no terminal at all stays `termux` for
//! notification scripts written before `--via` existed.
//!
//! `leash approve ID --grant [--pattern P] [--scope job|trigger|workspace]
//! [--minutes N]` approves and makes a grant for that shape at once.

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
    /// Another device's pending requests, through the fleet (it must trust
    /// this device).
    #[arg(long, value_name = "DEVICE", conflicts_with = "state")]
    pub on: Option<String>,
}

#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The approval request's id (`leash approvals` lists them).
    pub id: i64,
    /// The request's nonce, as a notification button passes it. Without it
    /// the nonce is fetched from the daemon.
    #[arg(long, value_name = "NONCE")]
    pub nonce: Option<String>,
    /// How this answer reaches leash: `cli` (a person at a terminal) or
    /// `termux` (a notification button).
    #[arg(long, value_name = "CHANNEL", value_parser = ["cli", "termux"])]
    pub via: Option<String>,
    /// With approve: also grant this shape of command (see `leash grants`).
    #[arg(long)]
    pub grant: bool,
    /// The grant's argv pattern (default: the shape leash suggests).
    #[arg(long, value_name = "PATTERN", requires = "grant")]
    pub pattern: Option<String>,
    /// Where the grant applies: job (default), trigger or workspace.
    #[arg(long, value_name = "SCOPE", requires = "grant", value_parser = ["job", "trigger", "workspace"])]
    pub scope: Option<String>,
    /// Minutes until the grant expires (default: until revoked).
    #[arg(long, value_name = "N", requires = "grant")]
    pub minutes: Option<u64>,
    /// With deny: why, in a few words; it is told to the model, which then
    /// tries something else (e.g. "not needed for this task", "too risky",
    /// "wrong file or place", "do it another way").
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Answer a request of another device, through the fleet (it must trust
    /// this device; it decides, first answer wins).
    #[arg(long, value_name = "DEVICE", conflicts_with_all = ["grant", "via"])]
    pub on: Option<String>,
    /// With deny: ask the person for the reason in this dialog program
    /// (`termux-dialog`, as the phone notification's Deny button runs it);
    /// cancelled or empty, the denial has no reason.
    #[arg(long, value_name = "PROGRAM", conflicts_with = "reason")]
    pub reason_dialog: Option<String>,
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
    if let Some(device) = &args.on {
        return crate::cmd::fleet_approvals::list_on(global, &loaded, device);
    }
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
    let mut answer = client.get(&path)?;
    // Other devices' pending requests told to this one (approvals follow
    // the person), marked with their owning device.
    let remote = match (&loaded.config.fleet, args.state.as_deref()) {
        (Some(_), None | Some("pending" | "all")) => {
            crate::cmd::fleet_approvals::told_here(&client)
        }
        _ => Vec::new(),
    };
    if global.json {
        if loaded.config.fleet.is_some() {
            answer["fleet"] = Value::Array(remote);
        }
        println!("{answer}");
        return Ok(exit::success());
    }
    crate::cmd::fleet_approvals::print_told_here(&remote);
    let approvals = answer["approvals"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if approvals.is_empty() {
        if remote.is_empty() {
            println!("no approval requests");
        }
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
        print_request_facts(approval);
        if let Some(suggested) = approval["suggested_grant"].as_str() {
            println!(
                "        approved often: `leash approve {} --grant --pattern {}` would stop asking",
                text_or_json(&approval["id"]),
                one_line(&format!("{suggested:?}"), COMMAND_COLUMN)
            );
        }
    }
    Ok(exit::success())
}

pub fn answer(global: &GlobalArgs, args: AnswerArgs, answer: Answer) -> anyhow::Result<ExitCode> {
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    if let Some(device) = &args.on {
        let approve = answer == Answer::Approve;
        if approve && args.reason.is_some() {
            anyhow::bail!("--reason goes with `leash deny`, not `leash approve`");
        }
        let by = answered_by("cli");
        let request = crate::cmd::fleet_approvals::Decision {
            id: args.id,
            nonce: args.nonce,
            approve,
            by,
            reason: args.reason,
        };
        return crate::cmd::fleet_approvals::decide_on(global, &loaded, device, request);
    }
    let client = ApiClient::from_config(&loaded)?;
    let id = args.id;
    let at_terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let channel = match (args.via.as_deref(), &args.nonce) {
        (Some("termux"), _) => "termux",
        (Some(_), _) => "cli",
        (None, Some(_)) if !at_terminal => "termux",
        (None, Some(_) | None) => "cli",
    };
    let by = if channel == "termux" {
        answered_by("notification")
    } else {
        answered_by("cli")
    };
    let nonce = match args.nonce {
        Some(nonce) => nonce,
        None => {
            let shown = client.get(&format!("/v1/approvals/{id}"))?;
            text(&shown["approval"]["nonce"]).to_owned()
        }
    };
    let mut body = json!({"nonce": nonce, "by": by, "channel": channel});
    if args.grant {
        if answer != Answer::Approve {
            anyhow::bail!("--grant goes with `leash approve`, not `leash deny`");
        }
        body["grant"] = json!({
            "pattern": args.pattern,
            "scope": args.scope.unwrap_or_else(|| "job".to_owned()),
            "minutes": args.minutes,
        });
    }
    let reason = match (&args.reason, &args.reason_dialog) {
        (_, Some(_)) if answer != Answer::Deny => {
            anyhow::bail!("--reason-dialog goes with `leash deny`, not `leash approve`")
        }
        (_, Some(dialog)) => super::reason_dialog::ask(dialog),
        (reason, None) => reason.clone(),
    };
    if let Some(reason) = &reason {
        if answer != Answer::Deny {
            anyhow::bail!("--reason goes with `leash deny`, not `leash approve`");
        }
        body["reason"] = json!(reason);
    }
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
        if let Some(grant) = decided.get("grant") {
            println!(
                "grant {} made: {} ({})",
                text_or_json(&grant["id"]),
                escape_line(text(&grant["pattern"])),
                escape_line(text(&grant["scope"]["kind"]))
            );
        }
    }
    Ok(exit::success())
}

/// The undo class, the grant shape and a refusal's reason of a request, one
/// line each, escaped (the reason is a person's words, the shape came from a
/// model's argv).
fn print_request_facts(approval: &Value) {
    if let Some(class) = approval["reversibility"].as_str() {
        println!("        undo: {}", escape_line(class));
    }
    if let Some(shape) = approval["grant_shape"].as_str() {
        println!(
            "        no grant covers it; a grant would read: {}",
            one_line(shape, COMMAND_COLUMN)
        );
    }
    if let Some(reason) = approval["refusal_reason"].as_str() {
        println!("        refused: {}", one_line(reason, COMMAND_COLUMN));
    }
}

/// An argv as one line for people (JSON-quoted words where needed).
pub(crate) fn command_line(argv: &Value) -> String {
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
