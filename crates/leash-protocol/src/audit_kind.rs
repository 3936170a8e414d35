//! Every kind of audit record, as one closed enum. The audit table stores the
//! spelling ([`AuditKind::as_str`]); readers find records by the enum, never
//! by comparing strings, so a misspelt kind is a compile error, not a record
//! nobody ever finds.

/// Declares the enum, its spellings and its list from one table, so a kind
/// can never be added without its spelling (or listed twice in `ALL`).
macro_rules! audit_kinds {
    ($( $(#[$doc:meta])* $variant:ident => $text:literal, )*) => {
        /// The kind of one audit record. Closed: a new kind is a new variant.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum AuditKind {
            $( $(#[$doc])* $variant, )*
        }

        impl AuditKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [AuditKind] = &[ $( AuditKind::$variant, )* ];

            /// The spelling stored in the audit table and the JSONL mirror.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( AuditKind::$variant => $text, )*
                }
            }
        }
    };
}

audit_kinds! {
    /// A proposed action the loop refused before judging it (a `cwd`
    /// outside the workspace, a repeat of a refused action).
    ActionRejected => "action.rejected",
    /// A person is asked to approve one command.
    ApprovalRequested => "approval.requested",
    /// A person answered (yes, no, always, never, grant).
    ApprovalAnswered => "approval.answered",
    /// Nobody answered before the expiry.
    ApprovalExpired => "approval.expired",
    /// No channel could reach a person.
    ApprovalUnavailable => "approval.unavailable",
    /// What an approval covered changed before the run; nothing ran.
    ApprovalVoid => "approval.void",
    /// The daemon filed an approval request for the person's channels.
    ApprovalPending => "approval.pending",
    /// The notifier told the person about a pending approval.
    ApprovalNotified => "approval.notified",
    /// An answer came with a wrong nonce and was refused.
    ApprovalNonceRefused => "approval.nonce_refused",
    /// Start-up found a torn audit mirror and recovered it.
    AuditRecovered => "audit.recovered",
    /// A step's model was switched to a fallback backend.
    BackendSwitch => "backend.switch",
    /// A chore skill planned its steps.
    ChorePlanned => "chore.planned",
    /// The policy's decision and the mode gate for one command.
    CommandDecision => "command.decision",
    /// A command is about to be spawned (written before the child exists).
    CommandStarted => "command.started",
    /// A command ended (exit status, output, resource use).
    CommandFinished => "command.finished",
    /// A cleared command could not start (sandbox refused, spawn failed).
    CommandFailed => "command.failed",
    /// A command started before a crash has no recorded result.
    CommandOutcomeUnknown => "command.outcome_unknown",
    /// The daemon started.
    DaemonStarted => "daemon.started",
    /// The daemon stopped.
    DaemonStopped => "daemon.stopped",
    /// The daemon recovered what a dead daemon left behind.
    DaemonRecovered => "daemon.recovered",
    /// leash wrote a file itself (`write_file`).
    FileWritten => "file.written",
    /// The daemon joined the fleet.
    FleetJoined => "fleet.joined",
    /// A job offered by another device was admitted.
    FleetJobAdmitted => "fleet.job.admitted",
    /// A job offered by another device was refused.
    FleetJobRefused => "fleet.job.refused",
    /// A job sent to another device ended there.
    FleetJobEnded => "fleet.job.ended",
    /// The end of an admitted fleet job was sent back.
    FleetJobEndSent => "fleet.job.end_sent",
    /// A result from another device was refused.
    FleetResultRefused => "fleet.result.refused",
    /// A job was forwarded to another device (a trigger's `on`).
    FleetJobForwarded => "fleet.job.forwarded",
    /// Forwarding a job to another device failed.
    FleetJobForwardFailed => "fleet.job.forward_failed",
    /// A person answered an approval that followed them to another device.
    FleetApprovalAnswered => "fleet.approval.answered",
    /// An approval answer from another device was refused.
    FleetApprovalRefused => "fleet.approval.refused",
    /// A request for this device's audit records was refused.
    FleetAuditRefused => "fleet.audit.refused",
    /// This device served an inference request for another device.
    FleetInferServed => "fleet.infer.served",
    /// An inference request from another device was refused.
    FleetInferRefused => "fleet.infer.refused",
    /// An inference request from another device was cancelled.
    FleetInferCancelled => "fleet.infer.cancelled",
    /// The resource governor paused or resumed inference.
    GovernorChanged => "governor.changed",
    /// A person created a standing grant.
    GrantCreated => "grant.created",
    /// A person revoked a grant.
    GrantRevoked => "grant.revoked",
    /// A grant answered for the person.
    GrantUsed => "grant.used",
    /// A trigger became a durable job.
    JobQueued => "job.queued",
    /// A job's run began.
    JobStarted => "job.started",
    /// A job's run ended (its report).
    JobFinished => "job.finished",
    /// A job moved from one state to another.
    JobState => "job.state",
    /// A job was routed to a skill (or to the open agent loop).
    JobRouted => "job.routed",
    /// A person asked to cancel a job.
    JobCancelRequested => "job.cancel_requested",
    /// A person's "always"/"never" was written to the learned-rules file.
    LearnedRuleWritten => "learned_rule.written",
    /// What the model was asked.
    ModelPrompt => "model.prompt",
    /// What the model answered.
    ModelOutput => "model.output",
    /// The actions parsed from the model's answer.
    ModelPlan => "model.plan",
    /// The model could not be reached or failed.
    ModelError => "model.error",
    /// The model's answer could not be parsed.
    ModelUnparseable => "model.unparseable",
    /// A step did not need the model.
    ModelSkipped => "model.skipped",
    /// A `notify` action's text.
    Notify => "notify",
    /// A `notify` text was spoken aloud.
    NotifySpoken => "notify.spoken",
    /// A person's refusal was remembered for its trigger.
    RefusalRemembered => "refusal.remembered",
    /// A command changed a control file without approval (reverted).
    SecurityTamper => "security.tamper",
    /// A command a person approved changed a control file.
    SecurityControlChanged => "security.control_changed",
    /// A skill's answer.
    SkillAnswer => "skill.answer",
    /// A trigger fired for work already queued.
    TriggerDuplicate => "trigger.duplicate",
    /// A trigger file was moved to `done/` or `failed/`.
    TriggerFileFinished => "trigger.file_finished",
    /// A schedule's run was missed while the daemon was down.
    TriggerScheduleMissed => "trigger.schedule_missed",
    /// `leash undo` began.
    UndoStarted => "undo.started",
    /// `leash undo` restored an action's pre-images.
    UndoRestored => "undo.restored",
    /// The journal could not be written, or a restore failed.
    UndoFailed => "undo.failed",
    /// `leash undo` refused (a later change, an irreversible action).
    UndoRefused => "undo.refused",
    /// Pre-images were journaled before an action.
    UndoJournaled => "undo.journaled",
    /// Old journal entries were collected.
    UndoGc => "undo.gc",
    /// A person's grant was not made (its pattern would cover a denied
    /// argv, or it does not cover what it answers); nothing was stored.
    GrantRefused => "grant.refused",
    /// Another device's approval request was told to the person here.
    FleetApprovalNotified => "fleet.approval.notified",
    /// An approval notice from a device that is not trusted (or forged) was
    /// not shown.
    FleetApprovalNoticeRefused => "fleet.approval.notice_refused",
}

/// A spelling that is no audit kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit kind {0:?}")]
pub struct UnknownAuditKind(pub String);

impl std::str::FromStr for AuditKind {
    type Err = UnknownAuditKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AuditKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownAuditKind(text.to_owned()))
    }
}

impl std::fmt::Display for AuditKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for AuditKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_spelling() {
        for kind in AuditKind::ALL {
            assert_eq!(kind.as_str().parse::<AuditKind>(), Ok(*kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
    }

    #[test]
    fn spellings_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for kind in AuditKind::ALL {
            let text = kind.as_str();
            assert!(seen.insert(text), "{text} is spelt twice");
            assert!(
                text.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{text}"
            );
        }
    }

    #[test]
    fn an_unknown_spelling_is_an_error_naming_it() {
        let err = "command.strated".parse::<AuditKind>().unwrap_err();
        assert_eq!(err.to_string(), "unknown audit kind \"command.strated\"");
        assert!("".parse::<AuditKind>().is_err());
        assert!("COMMAND.STARTED".parse::<AuditKind>().is_err());
    }
}
