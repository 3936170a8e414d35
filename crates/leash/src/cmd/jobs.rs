//! `leash jobs [--state S] [--limit N]` and `leash jobs show ID`: the
//! daemon's job queue (`GET /v1/jobs`, `GET /v1/jobs/{id}`). `--json` prints
//! the daemon's answer as one document.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::api_client::ApiClient;
use crate::escape::{escape_line, escape_text};
use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

/// Characters of a prompt shown in the list.
const PROMPT_COLUMN: usize = 60;

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub command: Option<JobsCommand>,
    /// Only jobs in this state: queued, running, waiting_approval, done,
    /// failed, cancelled, interrupted.
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// At most this many, newest first (1–1000; default 50).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// One job in full.
    Show {
        /// The job's id.
        id: i64,
    },
}

pub fn run(global: &GlobalArgs, args: JobsArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let client = ApiClient::from_config(&loaded)?;
    match args.command {
        Some(JobsCommand::Show { id }) => {
            let mut answer = client.get(&format!("/v1/jobs/{id}"))?;
            // The job's changes, from the rollback journal in the state dir.
            let changes = leash_core::open_journal(&loaded)?.changes(id)?;
            if global.json {
                answer["changes"] = serde_json::to_value(&changes)?;
                println!("{answer}");
            } else {
                print_job(&answer["job"]);
                print_changes(&changes);
            }
        }
        None => {
            let mut query = Vec::new();
            if let Some(state) = &args.state {
                query.push(format!("state={}", encode_query_value(state)));
            }
            if let Some(limit) = args.limit {
                query.push(format!("limit={limit}"));
            }
            let path = if query.is_empty() {
                "/v1/jobs".to_owned()
            } else {
                format!("/v1/jobs?{}", query.join("&"))
            };
            let answer = client.get(&path)?;
            if global.json {
                println!("{answer}");
            } else {
                print_list(&answer);
            }
        }
    }
    Ok(exit::success())
}

fn print_list(answer: &Value) {
    let jobs = answer["jobs"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if jobs.is_empty() {
        println!("no jobs");
        return;
    }
    println!(
        "{:>6}  {:<16}  {:<8}  {:<19}  PROMPT",
        "ID", "STATE", "TRIGGER", "CREATED"
    );
    for job in jobs {
        println!(
            "{:>6}  {:<16}  {:<8}  {:<19}  {}",
            text_or_json(&job["id"]),
            text(&job["state"]),
            text(&job["trigger_kind"]),
            text(&job["created_at"])
                .chars()
                .take(19)
                .collect::<String>(),
            one_line(text(&job["prompt"]), PROMPT_COLUMN),
        );
    }
}

fn print_job(job: &Value) {
    for key in [
        "id",
        "state",
        "trigger_kind",
        "trigger_name",
        "priority",
        "mode",
        "workspace",
        "file_path",
        "created_at",
        "updated_at",
        "attempts",
        "requeues",
    ] {
        let value = &job[key];
        if !value.is_null() {
            println!("{key:<13} {}", escape_line(&text_or_json(value)));
        }
    }
    println!("prompt        {}", escape_text(text(&job["prompt"])));
    if !job["result"].is_null() {
        println!("result        {}", escape_text(&job["result"].to_string()));
    }
}

fn print_changes(changes: &[leash_undo::Change]) {
    if changes.is_empty() {
        println!("changes       none journaled");
        return;
    }
    println!("changes       (newest first; `leash undo --action ENTRY` undoes one)");
    for c in changes {
        println!(
            "  entry {:<5} {:<18} undoable: {}  {}",
            c.entry,
            c.class,
            escape_line(&c.undoable),
            one_line(&c.what.to_string(), PROMPT_COLUMN)
        );
        for path in &c.paths {
            println!("      {}", escape_line(path));
        }
    }
}

/// A JSON string's text, or "" for anything else.
pub fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// A string's text, or the JSON of anything else.
pub fn text_or_json(value: &Value) -> String {
    match value.as_str() {
        Some(text) => text.to_owned(),
        None => value.to_string(),
    }
}

/// The text on one line, cut to `max` characters with an ellipsis.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = escape_line(&flat);
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_prompts_are_cut_on_one_line() {
        assert_eq!(one_line("a\nb", 10), "a b");
        assert_eq!(one_line("abcdef", 4), "abc…");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query_value("waiting_approval"), "waiting_approval");
        assert_eq!(encode_query_value("a b&c"), "a%20b%26c");
    }
}
