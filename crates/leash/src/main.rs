//! The `leash` command line. Each subcommand lives in a file of its own under
//! `cmd/`; this file only parses arguments, sets up logging and dispatches.
//!
//! The binary is the only crate that prints: library crates return values and
//! log through `tracing`.
#![allow(clippy::print_stdout, clippy::print_stderr)]
#![forbid(unsafe_code)]

mod api_client;
mod chore_job;
mod cmd;
mod escape;
mod exit;
mod global;
mod load_config;
mod logging;
mod session;
mod skill_job;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::global::GlobalArgs;

/// leash: a local model reacts to events on your device and acts on it, on a leash.
#[derive(Debug, Parser)]
#[command(name = "leash", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented config, create the state directories and the API token.
    Init(cmd::init::InitArgs),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
    /// Check the machine: sandbox layers, kernel, Termux, state dir, config, model.
    Doctor(cmd::doctor::DoctorArgs),
    /// Ask the policy about a command without running it.
    #[command(subcommand)]
    Policy(cmd::policy::PolicyCommand),
    /// Read and verify the tamper-evident audit log.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// Run one command through policy, mode gate, approval, sandbox and audit.
    Exec(cmd::exec::ExecArgs),
    /// Run one job in the foreground: the model proposes, leash judges and acts.
    Ask(cmd::ask::AskArgs),
    /// Inspect or fetch model files.
    #[command(subcommand)]
    Model(cmd::model::ModelCommand),
    /// Run the daemon: triggers, the durable job queue, the worker, the HTTP API.
    Daemon(cmd::daemon::DaemonArgs),
    /// Queue a job with the running daemon.
    Submit(cmd::submit::SubmitArgs),
    /// Queue one job from what you say (termux-speech-to-text).
    Listen(cmd::listen::ListenArgs),
    /// List the daemon's jobs, or show one (`leash jobs show ID`).
    Jobs(cmd::jobs::JobsArgs),
    /// List the daemon's approval requests (pending ones by default).
    Approvals(cmd::approvals::ApprovalsArgs),
    /// Approve a pending approval request.
    Approve(cmd::approvals::AnswerArgs),
    /// Deny a pending approval request.
    Deny(cmd::approvals::AnswerArgs),
    /// The daemon, model, queue, approvals and resource governor at a glance.
    Status(cmd::status::StatusArgs),
    /// Restore what leash changed: a job's changes, one entry, or the last one.
    Undo(cmd::undo::UndoArgs),
    /// List the grants (scoped standing approvals), or revoke one.
    Grants(cmd::grants::GrantsArgs),
    /// Print a one-time link that logs a browser into the daemon's web page.
    WebLogin(cmd::web_login::WebLoginArgs),
    /// Run the usefulness suite against the configured model and report the score.
    Eval(cmd::eval::EvalArgs),
    /// The fleet of devices over NATS JetStream (`fleet:` in the config).
    #[command(subcommand)]
    Fleet(cmd::fleet::FleetCommand),
}

fn main() -> ExitCode {
    // First, before leash opens anything or reads a secret: its children must
    // not read its memory or environment, nor inherit what started it.
    if let Err(err) = leash_sandbox::harden_process() {
        eprintln!("leash: cannot make itself non-dumpable and close inherited descriptors: {err}");
        return exit::failure();
    }
    logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init(args) => cmd::init::run(&cli.global, args),
        Command::Config(args) => cmd::config::run(&cli.global, args),
        Command::Doctor(args) => cmd::doctor::run(&cli.global, args),
        Command::Policy(args) => cmd::policy::run(&cli.global, args),
        Command::Audit(args) => cmd::audit::run(&cli.global, args),
        Command::Exec(args) => cmd::exec::run(&cli.global, args),
        Command::Ask(args) => cmd::ask::run(&cli.global, args),
        Command::Model(args) => cmd::model::run(&cli.global, args),
        Command::Daemon(args) => cmd::daemon::run(&cli.global, args),
        Command::Submit(args) => cmd::submit::run(&cli.global, args),
        Command::Listen(args) => cmd::listen::run(&cli.global, args),
        Command::Jobs(args) => cmd::jobs::run(&cli.global, args),
        Command::Approvals(args) => cmd::approvals::list(&cli.global, args),
        Command::Approve(args) => {
            cmd::approvals::answer(&cli.global, args, cmd::approvals::Answer::Approve)
        }
        Command::Deny(args) => {
            cmd::approvals::answer(&cli.global, args, cmd::approvals::Answer::Deny)
        }
        Command::Status(args) => cmd::status::run(&cli.global, args),
        Command::Undo(args) => cmd::undo::run(&cli.global, args),
        Command::Grants(args) => cmd::grants::run(&cli.global, args),
        Command::WebLogin(args) => cmd::web_login::run(&cli.global, args),
        Command::Eval(args) => cmd::eval::run(&cli.global, args),
        Command::Fleet(command) => cmd::fleet::run(&cli.global, command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("leash: error: {err:#}");
            exit::failure()
        }
    }
}
