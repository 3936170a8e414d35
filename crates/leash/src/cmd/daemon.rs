//! `leash daemon`: the main job on a device — triggers, the durable queue, the
//! worker and the HTTP API, until SIGTERM or SIGINT (see leash-daemon).
//!
//! Prints one ready line to stderr once the API listens (`leash: daemon ready
//! on 127.0.0.1:8765 (pid N)`), or with `--json` one JSON object on stdout
//! (`{"ready": true, "listen": …, "pid": …}`) so scripts can wait for it.
//!
//! Log lines go to `logging.file` when it is set (appended; created 0600),
//! else to stderr; the ready line and "daemon stopped" always go to the
//! caller.
//!
//! Exit status: 0 after a graceful stop, 1 when the daemon could not start or
//! failed (another daemon holds the state dir, the port is taken, a trigger is
//! invalid, the model does not load, the log file cannot be opened), 2 for an
//! invalid config.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use leash_daemon::{DaemonOptions, run_daemon};

use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

#[derive(Debug, Args)]
pub struct DaemonArgs {}

pub fn run(global: &GlobalArgs, _args: DaemonArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    if let Some(file) = &loaded.config.logging.file
        && let Err(err) = crate::logging::log_to_file(file)
    {
        eprintln!(
            "leash daemon: cannot open the log file {} (logging.file): {err}",
            file.display()
        );
        return Ok(exit::failure());
    }
    let json = global.json;
    let on_ready = Box::new(move |listen: std::net::SocketAddr| {
        let pid = std::process::id();
        if json {
            let line = serde_json::json!({"ready": true, "listen": listen.to_string(), "pid": pid});
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        } else {
            eprintln!("leash: daemon ready on {listen} (pid {pid})");
        }
    });
    match run_daemon(DaemonOptions {
        loaded,
        on_ready: Some(on_ready),
    }) {
        Ok(()) => {
            eprintln!("leash: daemon stopped");
            Ok(exit::success())
        }
        Err(err) => {
            eprintln!("leash daemon: {err}");
            Ok(exit::failure())
        }
    }
}
