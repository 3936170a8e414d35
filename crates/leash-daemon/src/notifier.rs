//! Telling a person that an approval waits: the configured notifier command
//! (`approvals.notifier`, an argv — never a shell), run with the approval's id,
//! its nonce, a one-line summary, and the absolute path of this leash binary
//! (so a notification button can call `<leash> approve ID --nonce N` without
//! a PATH, as Termux notification actions run).
//!
//! The notifier is the person's own trusted program, named in their config;
//! it runs directly (not through the policy) with a scrubbed environment, a
//! timeout, and its output discarded. Its failure is recorded, never fatal:
//! the request still waits on the API and the CLI.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use leash_store::Approval;
use serde_json::{Value, json};

use crate::context::DaemonContext;

/// How long a notifier may take before it is killed.
const NOTIFIER_TIMEOUT: Duration = Duration::from_secs(10);

/// The environment variables the notifier gets (besides `PATH`, `HOME`,
/// `LANG`, `TERM`, and Termux's `PREFIX`/`LD_PRELOAD` when present).
pub const NOTIFIER_VARS: [&str; 5] = [
    "LEASH_APPROVAL_ID",
    "LEASH_APPROVAL_NONCE",
    "LEASH_APPROVAL_SUMMARY",
    "LEASH_APPROVAL_EXPIRES_AT",
    "LEASH_BIN",
];

/// The one-line summary a person sees: the command, escaped so control
/// characters and bidi overrides cannot disguise it.
pub fn approval_summary(approval: &Approval) -> String {
    command_summary(&approval.argv, approval.reversibility.as_deref())
}

/// [`approval_summary`] of a command and its undo class.
pub fn command_summary(argv: &[String], reversibility: Option<&str>) -> String {
    let argv: Vec<String> = argv
        .iter()
        .map(|word| leash_core::approval::visible::visible_arg(word))
        .collect();
    // The undo class comes first so a long command cannot cut it off.
    let class = reversibility
        .map(|class| format!(" [{}]", leash_core::approval::visible::visible_text(class)))
        .unwrap_or_default();
    let mut line = format!("leash wants to run{class}: {}", argv.join(" "));
    if line.chars().count() > 200 {
        line = line.chars().take(199).collect::<String>() + "…";
    }
    line
}

/// Runs the notifier for `approval`; returns what happened, for the audit log.
/// Arguments: the configured argv followed by the id, the nonce and the
/// summary; the same values are also in `LEASH_APPROVAL_*` variables.
pub fn notify_person(ctx: &DaemonContext, notifier: &[String], approval: &Approval) -> Value {
    let Some((program, fixed)) = notifier.split_first() else {
        return json!({"ran": false, "error": "empty notifier"});
    };
    let summary = approval_summary(approval);
    let (leash_bin, config) = own_paths(ctx);
    let mut command = prepared(program);
    if crate::termux_notifier::is_builtin(program, fixed) {
        // The phone's own notification, with the page's three choices.
        let path = std::env::var_os("PATH");
        let dialog = crate::termux_notifier::absolute_program(program, path.as_deref())
            .and_then(|p| p.parent().map(|dir| dir.join("termux-dialog")))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "termux-dialog".to_owned());
        command.args(crate::termux_notifier::notification_args(
            approval, &summary, &leash_bin, &config, &dialog,
        ));
    } else {
        command
            .args(fixed)
            .arg(approval.id.to_string())
            .arg(approval.nonce.expose())
            .arg(&summary);
    }
    command
        .env("LEASH_APPROVAL_ID", approval.id.to_string())
        .env("LEASH_APPROVAL_NONCE", approval.nonce.expose())
        .env("LEASH_APPROVAL_SUMMARY", &summary)
        .env("LEASH_APPROVAL_EXPIRES_AT", &approval.expires_at)
        .env("LEASH_BIN", &leash_bin)
        .env("LEASH_CONFIG", &config);
    run(command, program)
}

/// This leash binary's absolute path and the config's path, for buttons.
pub(crate) fn own_paths(ctx: &DaemonContext) -> (String, String) {
    let leash_bin = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    (leash_bin, ctx.loaded.location.path.display().to_string())
}

/// `program` with a scrubbed environment and no standard streams.
pub(crate) fn prepared(program: &str) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for var in [
        "PATH",
        "HOME",
        "LANG",
        "TERM",
        "PREFIX",
        "LD_PRELOAD",
        "TMPDIR",
    ] {
        if let Some(value) = std::env::var_os(var) {
            command.env(var, value);
        }
    }
    command
}

/// Runs a prepared notifier within [`NOTIFIER_TIMEOUT`]; what happened, for
/// the audit log.
pub(crate) fn run(mut command: Command, program: &str) -> Value {
    let started = Instant::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            tracing::warn!(notifier = %program, error = %err, "approval notifier did not start");
            return json!({"ran": false, "program": program, "error": err.to_string()});
        }
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return json!({"ran": true, "program": program, "exit": status.code(), "ms": started.elapsed().as_millis() as u64});
            }
            Ok(None) if started.elapsed() >= NOTIFIER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return json!({"ran": true, "program": program, "timed_out": true});
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(err) => return json!({"ran": true, "program": program, "error": err.to_string()}),
        }
    }
}
