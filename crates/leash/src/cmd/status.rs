//! `leash status [--json]`: one screen with what a person checks on the
//! phone — the daemon, the model backend, the queue, pending approvals, and
//! the resource governor's state with its last reading (`GET /v1/status`).

use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use crate::api_client::ApiClient;
use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

#[derive(Debug, Args)]
pub struct StatusArgs {}

pub fn run(global: &GlobalArgs, _args: StatusArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let client = ApiClient::from_config(&loaded)?;
    let answer = client.get("/v1/status")?;
    if global.json {
        println!("{answer}");
    } else {
        print!("{}", render(&answer));
    }
    Ok(exit::success())
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The human screen.
fn render(status: &Value) -> String {
    let daemon = &status["daemon"];
    let model = &status["model"];
    let governor = &status["governor"];
    let reading = &governor["last_reading"];
    let mut out = String::new();
    out.push_str(&format!(
        "daemon     pid {}, leash {}, up {} s\n",
        text(&daemon["pid"]),
        text(&daemon["version"]),
        text(&daemon["uptime_s"])
    ));
    let location = [&model["path"], &model["base_url"]]
        .into_iter()
        .find(|v| !v.is_null())
        .map_or_else(|| "-".to_owned(), text);
    out.push_str(&format!(
        "model      {} {}\n",
        text(&model["backend"]),
        location
    ));
    // The job states in the order a job moves through them (a JSON object's
    // key order depends on serde_json's features, so it is not relied on);
    // states this list does not know yet come last, by name.
    const STATE_ORDER: &[&str] = &[
        "queued",
        "running",
        "waiting_approval",
        "done",
        "failed",
        "cancelled",
        "interrupted",
    ];
    let queue = status["queue"]
        .as_object()
        .map(|q| {
            let mut counts: Vec<(&String, &Value)> = q
                .iter()
                .filter(|(_, n)| n.as_i64().unwrap_or(0) > 0)
                .collect();
            counts.sort_by_key(|(state, _)| {
                let rank = STATE_ORDER
                    .iter()
                    .position(|s| s == state)
                    .unwrap_or(STATE_ORDER.len());
                (rank, state.as_str())
            });
            counts
                .into_iter()
                .map(|(state, n)| format!("{state} {n}"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    out.push_str(&format!(
        "queue      {}\n",
        if queue.is_empty() {
            "empty".to_owned()
        } else {
            queue.join(", ")
        }
    ));
    out.push_str(&format!(
        "approvals  {} pending\n",
        text(&status["pending_approvals"])
    ));
    if governor["enabled"] == Value::Bool(true) {
        out.push_str(&format!(
            "governor   {} ({})\n",
            text(&governor["gate"]),
            text(&governor["reason"])
        ));
        out.push_str(&format!(
            "device     {} °C, battery {}%{}, load {}, {} MiB free (from {}, at {})\n",
            text(&reading["temp_c"]),
            text(&reading["battery_pct"]),
            match reading["charging"] {
                Value::Bool(true) => " charging",
                Value::Bool(false) => " not charging",
                _ => "",
            },
            text(&reading["load1"]),
            text(&reading["mem_available_mb"]),
            text(&reading["source"]),
            text(&governor["last_read_at"])
        ));
    } else {
        out.push_str("governor   off (device.governor: false)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_screen_names_the_governor_state_and_reading() {
        let screen = render(&json!({
            "daemon": {"pid": 7, "version": "0.1.0", "uptime_s": 12},
            "model": {"backend": "llama-server", "path": "/m.gguf", "base_url": null},
            "queue": {"queued": 2, "running": 0, "done": 5},
            "pending_approvals": 1,
            "governor": {"enabled": true, "gate": "paused", "reason": "hot: 41.0 °C",
                "last_reading": {"temp_c": 41.0, "battery_pct": 50, "charging": false,
                    "load1": 0.5, "mem_available_mb": 900, "source": "termux-battery-status"},
                "last_read_at": "2026-12-07T15:00:00Z"}
        }));
        assert!(
            screen.contains("model      llama-server /m.gguf"),
            "{screen}"
        );
        assert!(screen.contains("queue      queued 2, done 5"), "{screen}");
        assert!(
            screen.contains("governor   paused (hot: 41.0 °C)"),
            "{screen}"
        );
        assert!(
            screen.contains("41.0 °C, battery 50% not charging"),
            "{screen}"
        );
    }
}
