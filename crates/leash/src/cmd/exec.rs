//! `leash exec [--mode MODE] [--json] -- ARGV…`: one command through the whole
//! leash — policy, mode gate, approval on the terminal, sandbox, audit — without
//! a model. Useful on its own, from scripts, as a policy-gated `sudo`-like
//! wrapper that records what it did.
//!
//! Exit status: the command's own status when it ran (128+N when killed by
//! signal N, e.g. 152 for SIGXCPU at the CPU limit, 153 for SIGXFSZ at the
//! file-size limit), 124 when it timed out, 125 when leash could not run it (a
//! required sandbox layer is missing), 126 when it was not run because the
//! policy denied it, a person refused, or the approval expired, 0 in dry-run and
//! audit-only modes (nothing runs there; the decision is recorded), 2 for bad
//! input (config, arguments).

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use leash_core::{CommandReport, CommandRequest, CommandStatus, NotRunReason, outcome_payload};
use leash_sandbox::ExitKind;
use serde_json::json;

use crate::exit;
use crate::global::GlobalArgs;
use crate::session::{Session, open_session, terminal_approver};

/// Status when the command timed out (as GNU `timeout`).
pub const EXIT_TIMED_OUT: u8 = 124;
/// Status when leash could not run the command (sandbox refused or spawn failed).
pub const EXIT_NOT_RUNNABLE: u8 = 125;
/// Status when the command was not run: denied, refused or expired.
pub const EXIT_NOT_RUN: u8 = 126;

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: the command's own, 128+N if killed by signal N, \
124 timed out, 125 leash could not run it, 126 denied/refused/expired, \
0 in dry-run and audit-only modes, 2 bad input."
)]
pub struct ExecArgs {
    /// Execution mode for this command: auto-approve, prompt, dry-run, audit-only
    /// (default: security.execution_mode).
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
    /// The command and its arguments, exactly as they are to be passed.
    #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGV")]
    pub argv: Vec<OsString>,
}

pub fn run(global: &GlobalArgs, args: ExecArgs) -> anyhow::Result<ExitCode> {
    let argv = match utf8_argv(&args.argv) {
        Ok(argv) => argv,
        Err(message) => {
            eprintln!("leash exec: {message}");
            return Ok(exit::usage());
        }
    };
    let Session { engine, .. } = match open_session(global, args.mode.as_deref())? {
        Ok(session) => session,
        Err(code) => return Ok(code),
    };
    let here = std::env::current_dir().context("cannot read the current directory")?;
    // Commands run where the user is when that is inside the workspace, else
    // at the workspace's top.
    let cwd = here
        .canonicalize()
        .ok()
        .filter(|dir| dir.starts_with(&engine.workspace))
        .unwrap_or_else(|| engine.workspace.clone());
    let approver = terminal_approver();
    let request = CommandRequest {
        argv,
        cwd,
        job_id: None,
    };
    // `--mode` is the config's top layer: the engine's default is this
    // command's mode.
    let job = engine.default_params();
    let report = engine.runner(&job, approver.as_ref()).run(&request)?;
    engine.audit.flush().context("flushing the audit log")?;
    if global.json {
        print_json(&request, &report)?;
    } else {
        print_text(&report)?;
    }
    Ok(ExitCode::from(exit_status(&report)))
}

/// Arguments must be UTF-8: the policy judges text, and an argument it cannot
/// read is one it cannot judge.
fn utf8_argv(argv: &[OsString]) -> Result<Vec<String>, String> {
    argv.iter()
        .enumerate()
        .map(|(i, arg)| {
            arg.to_str().map(str::to_owned).ok_or_else(|| {
                format!("argument {i} is not valid UTF-8: {}", arg.to_string_lossy())
            })
        })
        .collect()
}

/// The exit status for a report (see the module docs).
pub fn exit_status(report: &CommandReport) -> u8 {
    // It ran, but changed control files behind the person's back (reverted):
    // a failure of the run, whatever the program's own status was.
    if !report.tampered.is_empty() {
        return EXIT_NOT_RUNNABLE;
    }
    if let Some(outcome) = report.outcome() {
        return match &outcome.status {
            ExitKind::Exited(code) => u8::try_from(*code & 0xff).unwrap_or(1),
            ExitKind::Signaled { signal, .. } => u8::try_from(128 + (*signal & 0x7f)).unwrap_or(1),
            ExitKind::TimedOut => EXIT_TIMED_OUT,
        };
    }
    match &report.status {
        CommandStatus::NotRun {
            reason: NotRunReason::DryRun | NotRunReason::AuditOnly,
            ..
        } => 0,
        CommandStatus::Failed { .. } => EXIT_NOT_RUNNABLE,
        CommandStatus::NotRun {
            reason:
                NotRunReason::Denied
                | NotRunReason::Refused
                | NotRunReason::ApprovalExpired
                | NotRunReason::NoApprover
                | NotRunReason::ApprovalVoid,
            ..
        }
        | CommandStatus::Ran(_)
        | CommandStatus::Performed => EXIT_NOT_RUN,
    }
}

fn print_text(report: &CommandReport) -> anyhow::Result<()> {
    if let Some(outcome) = report.outcome() {
        // Output going to a terminal is escaped (a sandboxed program must not
        // drive the person's terminal); into a pipe or file it passes as is.
        let shown = |bytes: &[u8], terminal: bool| -> Vec<u8> {
            if terminal {
                crate::escape::escape_text(&String::from_utf8_lossy(bytes)).into_bytes()
            } else {
                bytes.to_vec()
            }
        };
        let mut stdout = std::io::stdout().lock();
        let to_terminal = stdout.is_terminal();
        stdout.write_all(&shown(&outcome.stdout.bytes, to_terminal))?;
        stdout.flush()?;
        let mut stderr = std::io::stderr().lock();
        let to_terminal = stderr.is_terminal();
        stderr.write_all(&shown(&outcome.stderr.bytes, to_terminal))?;
        for marker in [
            outcome.stdout.truncation_marker(),
            outcome.stderr.truncation_marker(),
        ]
        .into_iter()
        .flatten()
        {
            writeln!(stderr, "{marker}")?;
        }
        match &outcome.status {
            ExitKind::Exited(_) => {}
            ExitKind::Signaled { name, .. } => {
                let limit = outcome
                    .limit_hit
                    .map(|l| format!(" (limit: {l:?})"))
                    .unwrap_or_default();
                writeln!(stderr, "leash: killed by {name}{limit}")?;
            }
            ExitKind::TimedOut => {
                writeln!(stderr, "leash: timed out; the process group was killed")?
            }
        }
        if let Some(reason) = report.tamper_reason() {
            writeln!(
                stderr,
                "leash: FAILED: {}",
                crate::escape::escape_text(&reason)
            )?;
        }
        return Ok(());
    }
    let verdict = &report.verdict;
    let what = match &report.status {
        CommandStatus::NotRun { reason, .. } => match reason {
            NotRunReason::DryRun => format!(
                "dry run: would {}",
                report.gate.as_str().trim_start_matches("would-")
            ),
            NotRunReason::AuditOnly => "audit-only: recorded, not run".to_owned(),
            NotRunReason::Denied => "denied".to_owned(),
            NotRunReason::Refused => "not run: refused at the approval prompt".to_owned(),
            NotRunReason::ApprovalExpired => "not run: the approval expired".to_owned(),
            NotRunReason::NoApprover => "not run: approval needed and nobody to ask".to_owned(),
            NotRunReason::ApprovalVoid => {
                "not run: what was approved changed before it ran".to_owned()
            }
        },
        CommandStatus::Failed { .. } => "not run: the sandbox refused".to_owned(),
        CommandStatus::Ran(_) | CommandStatus::Performed => "not run".to_owned(),
    };
    eprintln!("leash: {what}");
    eprintln!(
        "  policy: {} ({}): {}",
        verdict.decision.as_str(),
        verdict.rule,
        verdict.reason
    );
    if !verdict.hint.is_empty() && verdict.decision != leash_policy::Decision::Allow {
        eprintln!("  hint: {}", verdict.hint);
    }
    if let Some(error) = report.error() {
        eprintln!("  error: {error}");
    }
    if let Some(leash_core::approval::ApprovalOutcome::Unavailable { why }) = &report.approval {
        eprintln!("  approval: {why}");
    }
    if let Some(path) = &report.learned_rule_file {
        eprintln!("  learned rule written to {}", path.display());
    }
    Ok(())
}

fn print_json(request: &CommandRequest, report: &CommandReport) -> anyhow::Result<()> {
    let verdict = &report.verdict;
    let document = json!({
        "argv": request.argv,
        "cwd": request.cwd,
        "mode": report.mode.as_str(),
        "decision": verdict.decision.as_str(),
        "rule": verdict.rule,
        "reason": verdict.reason,
        "hint": verdict.hint,
        "program": verdict.command.as_ref().map(|c| &c.program),
        "gate": report.gate.as_str(),
        "approval": report.approval,
        "executed": report.outcome().is_some(),
        "not_run": report.not_run_label(),
        "error": report.error(),
        "learned_rule_file": report.learned_rule_file.as_ref().map(|p: &PathBuf| p.display().to_string()),
        "result": report.outcome().map(outcome_payload),
        "tampered": report.tampered,
        "exit_code": exit_status(report),
    });
    println!("{}", serde_json::to_string(&document)?);
    Ok(())
}
