//! "Cleared to run" as a value. Only the judging step in
//! [`crate::CommandRunner`] (policy verdict → mode gate → grants → a
//! person's approval) makes a [`Cleared`]; execution
//! ([`crate::CommandRunner::execute`]) and leash's in-process writes
//! ([`crate::CommandRunner::with_control_check`]) take one by value. So
//! nothing can run an argv that was not judged, and nothing can run a judged
//! argv twice on one judgement. (The idea is rustls' `HandshakeSignatureValid`:
//! a check whose only output is the proof that it passed.)
//!
//! Outside this crate a `Cleared` cannot be built:
//!
//! ```compile_fail,E0451
//! # fn forge(request: leash_core::CommandRequest) {
//! let forged = leash_core::Cleared { request, judgement: todo!(), held_back: None };
//! # }
//! ```
//!
//! nor copied, nor executed twice:
//!
//! ```compile_fail,E0599
//! # fn copy(cleared: leash_core::Cleared) {
//! let again = cleared.clone();
//! # }
//! ```
//!
//! ```compile_fail,E0382
//! # fn twice(runner: &leash_core::CommandRunner<'_>, cleared: leash_core::Cleared) {
//! let _ = runner.execute(cleared);
//! let _ = runner.execute(cleared);
//! # }
//! ```

use std::path::{Path, PathBuf};

use leash_config::ExecutionMode;
use leash_policy::Verdict;
use leash_store::AuditEntry;

use super::CommandRequest;
use super::report::{CommandReport, CommandStatus};
use crate::approval::{ApprovalBinding, ApprovalOutcome};
use crate::mode_gate::GateOutcome;

/// Proof that one command was judged and may be carried out: the policy's
/// verdict, the mode gate and (where needed) a person's approval all let it
/// through. It holds exactly what was judged — the argv, the cwd, the job, the
/// resolved program — and is consumed by carrying it out.
#[derive(Debug)]
#[must_use = "a cleared command does nothing until it is executed"]
pub struct Cleared {
    pub(super) request: CommandRequest,
    pub(super) judgement: Judgement,
    /// The `command.decision` record, when it is written together with what
    /// the execution records first (one transaction, one fsync).
    pub(super) held_back: Option<AuditEntry>,
}

impl Cleared {
    /// The argv that was judged.
    pub fn argv(&self) -> &[String] {
        &self.request.argv
    }

    /// The directory it was judged to run in.
    pub fn cwd(&self) -> &Path {
        &self.request.cwd
    }

    /// The job it belongs to.
    pub fn job_id(&self) -> Option<i64> {
        self.request.job_id
    }

    /// The canonical program file the policy resolved and the sandbox will
    /// run (`None` for an action leash carries out itself).
    pub fn program(&self) -> Option<&Path> {
        self.judgement
            .verdict
            .command
            .as_ref()
            .map(|command| command.program.as_path())
    }

    /// The verdict it was cleared on.
    pub fn verdict(&self) -> &Verdict {
        &self.judgement.verdict
    }

    /// This clearance with another program and argv put in place of the
    /// judged ones, as if the policy had allowed them: for the tests that
    /// show the sandbox and the control-file check hold where the policy is
    /// wrong. Exists only with the `test-support` feature.
    #[cfg(feature = "test-support")]
    pub fn with_command_for_tests(
        mut self,
        command: leash_policy::ResolvedCommand,
        rule: &str,
    ) -> Cleared {
        self.request.argv.clone_from(&command.argv);
        self.judgement.verdict.rule = rule.to_owned();
        self.judgement.verdict.command = Some(command);
        self
    }
}

/// The outcome of judging one command: cleared to run, or stopped (with the
/// report that says why).
#[derive(Debug)]
pub enum Judged {
    /// May be carried out, exactly once.
    Cleared(Cleared),
    /// Will not run; the report's status says why.
    Stopped(CommandReport),
}

/// Everything the judging step decided about one command.
#[derive(Debug)]
pub(super) struct Judgement {
    pub verdict: Verdict,
    pub mode: ExecutionMode,
    pub gate: GateOutcome,
    pub approval: Option<ApprovalOutcome>,
    pub learned_rule_file: Option<PathBuf>,
    pub undo: Option<leash_undo::Plan>,
    pub grant: Option<i64>,
    pub binding: Option<ApprovalBinding>,
}

impl Judgement {
    /// Whether a person approved this very request.
    pub fn approved(&self) -> bool {
        self.approval
            .as_ref()
            .is_some_and(ApprovalOutcome::approves)
    }

    /// The report of this judgement, ended with `status`.
    pub fn into_report(
        self,
        status: CommandStatus,
        tampered: Vec<crate::control_files::Tamper>,
    ) -> CommandReport {
        CommandReport {
            verdict: self.verdict,
            mode: self.mode,
            gate: self.gate,
            approval: self.approval,
            status,
            learned_rule_file: self.learned_rule_file,
            tampered,
            undo: self.undo,
            grant: self.grant,
            binding: self.binding,
        }
    }
}
