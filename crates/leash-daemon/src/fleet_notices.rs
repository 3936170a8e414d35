//! Approvals follow the person (issue 13 item 4), the telling half (see
//! `leash_fleet::notices`). As owner, this device publishes each of its
//! approval requests when it is filed and again when it closes (answered,
//! expired, its job cancelled); at start it publishes the current state of
//! recent requests again, which the stream de-duplicates, so a notice lost to
//! a crash is sent late, never twice. As a person's other device, it keeps the
//! pending requests of the devices it trusts ([`RemoteApprovals`]), shows them
//! on `GET /v1/fleet/approvals`, `leash approvals` and the web page, and runs
//! its notifier for each new one; a closing notice removes it. A notice from
//! a device not in `fleet.trusted` is never shown, and is audited.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leash_fleet::Fleet;
use leash_fleet::notices::{ApprovalNotice, NoticeRefusal, NoticeState, NoticeVerdict, judge};
use leash_store::{Approval, ApprovalState, AuditKind};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::context::DaemonContext;
use crate::events::DaemonEvent;
use crate::fleet::audit;

/// Pause between retries while the fleet is away.
const RETRY: Duration = Duration::from_secs(2);

/// The pending requests of other (trusted) devices, by `(owner, id)`.
#[derive(Debug, Default)]
pub struct RemoteApprovals {
    pending: Mutex<BTreeMap<(String, i64), ApprovalNotice>>,
}

impl RemoteApprovals {
    /// Those not yet expired, by owner and id.
    pub fn pending(&self) -> Vec<ApprovalNotice> {
        let now = jiff::Timestamp::now();
        self.pending
            .lock()
            .map(|map| map.values().filter(|n| !n.expired(now)).cloned().collect())
            .unwrap_or_default()
    }

    /// Records a notice; `true` when it is a pending request not seen before
    /// (the person should be told).
    fn apply(&self, notice: ApprovalNotice) -> bool {
        let Ok(mut map) = self.pending.lock() else {
            return false;
        };
        // Requests whose owner never closed them (it went away) go once
        // they expire.
        let now = jiff::Timestamp::now();
        map.retain(|_, n| !n.expired(now));
        let key = (notice.from.clone(), notice.id);
        match notice.state {
            // Past its expiry nobody can answer it: not shown, not told.
            NoticeState::Pending if notice.expired(now) => {
                map.remove(&key);
                false
            }
            NoticeState::Pending => map.insert(key, notice).is_none(),
            NoticeState::Closed => {
                map.remove(&key);
                false
            }
        }
    }
}

/// The notice of this device's request `approval`.
fn notice_of(device: &str, approval: &Approval) -> ApprovalNotice {
    let (state, outcome) = match approval.state {
        ApprovalState::Pending => (NoticeState::Pending, None),
        ApprovalState::Approved | ApprovalState::Denied | ApprovalState::Expired => (
            NoticeState::Closed,
            Some(approval.state.as_str().to_owned()),
        ),
    };
    ApprovalNotice {
        v: leash_fleet::PROTOCOL_VERSION,
        from: device.to_owned(),
        id: approval.id,
        job_id: approval.job_id,
        created_at: approval.created_at.clone(),
        state,
        outcome,
        argv: approval.argv.clone(),
        cwd: approval.cwd.clone(),
        rule: approval.rule.clone(),
        reason: approval.reason.clone(),
        reversibility: approval.reversibility.clone(),
        suggested_grant: approval.suggested_grant.clone(),
        grant_shape: approval.grant_shape.clone(),
        expires_at: approval.expires_at.clone(),
        sent_at: leash_fleet::envelope::now(),
    }
}

/// Publishes this device's requests as they are filed and closed. `events`
/// was subscribed before joining, so nothing filed meanwhile is missed; each
/// notice is built from the request's state in the store when it is sent
/// (never from the event), so a late event cannot reopen a closed request.
pub(crate) async fn tell(
    ctx: Arc<DaemonContext>,
    fleet: Fleet,
    mut events: broadcast::Receiver<DaemonEvent>,
) {
    let since = jiff::Timestamp::now()
        .checked_sub(
            jiff::SignedDuration::try_from(leash_fleet::notices::NOTICE_MAX_AGE)
                .unwrap_or_default(),
        )
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let mut queue: VecDeque<i64> = ctx
        .with_store(|store| store.approvals(None))
        .map(|all| {
            all.iter()
                .filter(|a| {
                    a.created_at
                        .parse::<jiff::Timestamp>()
                        .is_ok_and(|at| at >= since)
                })
                .map(|a| a.id)
                .collect()
        })
        .unwrap_or_default();
    loop {
        while let Some(id) = queue.front().copied() {
            match publish(&ctx, &fleet, id).await {
                Ok(()) => {
                    queue.pop_front();
                }
                Err(err) => {
                    tracing::warn!(%err, approval = id, "fleet: approval notice not stored yet");
                    break;
                }
            }
        }
        let wait = if queue.is_empty() {
            Duration::from_secs(3600)
        } else {
            RETRY
        };
        tokio::select! {
            event = events.recv() => match event {
                Ok(DaemonEvent::ApprovalRequested { approval_id, .. })
                | Ok(DaemonEvent::ApprovalDecided { approval_id, .. }) => queue.push_back(approval_id),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            () = tokio::time::sleep(wait) => {}
        }
    }
}

async fn publish(ctx: &DaemonContext, fleet: &Fleet, id: i64) -> Result<(), String> {
    let approval = ctx
        .with_store(|store| store.approval(id))
        .map_err(|e| e.to_string())?;
    let Some(approval) = approval else {
        return Ok(());
    };
    let notice = notice_of(&fleet.config.device, &approval);
    fleet
        .publish_notice(&notice)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Reads every device's notices (from the current state of each request on)
/// and keeps the trusted devices' pending requests.
pub(crate) async fn listen(ctx: Arc<DaemonContext>, fleet: Fleet) {
    loop {
        let mut feed = match fleet.notice_feed().await {
            Ok(feed) => feed,
            Err(err) => {
                tracing::warn!(%err, "fleet: approval notices unavailable; retrying");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        while let Some(next) = feed.next().await {
            let incoming = match next {
                Ok(incoming) => incoming,
                Err(err) => {
                    tracing::debug!(%err, "fleet: approval notices");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            match judge(&fleet.config, &incoming.subject, &incoming.message.payload) {
                Ok(NoticeVerdict::Own) => {}
                Ok(NoticeVerdict::Show(notice)) => {
                    let shown = (*notice).clone();
                    if ctx.fleet_notices.apply(*notice) {
                        tell_person(&ctx, shown).await;
                    }
                }
                Err(refusal) => refused(&ctx, &incoming.subject, &refusal),
            }
            if let Err(err) = incoming.ack().await {
                tracing::warn!(%err, "fleet: approval notice not acked; it will come again");
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

fn refused(ctx: &DaemonContext, subject: &str, refusal: &NoticeRefusal) {
    match refusal {
        NoticeRefusal::Untrusted(_) | NoticeRefusal::Sender(_) | NoticeRefusal::WrongSubject(_) => {
            audit(
                ctx,
                None,
                AuditKind::FleetApprovalNoticeRefused,
                json!({
                    "subject": subject,
                    "publisher": leash_fleet::subjects::publisher(subject),
                    "code": refusal.code(),
                    "reason": refusal.to_string(),
                }),
            )
        }
        // Another version or a broken message is no one's attempt at this
        // device: logged, not audited.
        NoticeRefusal::Malformed(_) | NoticeRefusal::Version(_) => {
            tracing::warn!(%subject, %refusal, "fleet: approval notice ignored");
        }
    }
}

/// Runs the notifier (if any) for another device's new request, off the
/// runtime's threads, and audits that the person was told.
async fn tell_person(ctx: &Arc<DaemonContext>, notice: ApprovalNotice) {
    let Some(notifier) = ctx.loaded.config.approvals.notifier.clone() else {
        return;
    };
    let worker = Arc::clone(ctx);
    let shown = notice.clone();
    let report = tokio::task::spawn_blocking(move || notify_remote(&worker, &notifier, &shown))
        .await
        .unwrap_or_else(|err| json!({"ran": false, "error": err.to_string()}));
    audit(
        ctx,
        None,
        AuditKind::FleetApprovalNotified,
        json!({"device": notice.from, "approval_id": notice.id, "notifier": report}),
    );
}

/// The notifier for request `notice.id` of device `notice.from`: the
/// configured argv followed by the id, an empty nonce (this device has none:
/// it answers with `leash approve --on OWNER ID`, which asks the owner) and
/// the summary; `LEASH_APPROVAL_DEVICE` names the owner. The built-in
/// `termux-notification` gets buttons that answer through the fleet.
fn notify_remote(ctx: &DaemonContext, notifier: &[String], notice: &ApprovalNotice) -> Value {
    let Some((program, fixed)) = notifier.split_first() else {
        return json!({"ran": false, "error": "empty notifier"});
    };
    let summary = format!(
        "on {}: {}",
        notice.from,
        crate::notifier::command_summary(&notice.argv, notice.reversibility.as_deref())
    );
    let (leash_bin, config) = crate::notifier::own_paths(ctx);
    let mut command = crate::notifier::prepared(program);
    if crate::termux_notifier::is_builtin(program, fixed) {
        command.args(crate::termux_notifier::remote_notification_args(
            &notice.from,
            notice.id,
            &summary,
            &leash_bin,
            &config,
        ));
    } else {
        command
            .args(fixed)
            .arg(notice.id.to_string())
            .arg("")
            .arg(&summary);
    }
    command
        .env("LEASH_APPROVAL_ID", notice.id.to_string())
        .env("LEASH_APPROVAL_NONCE", "")
        .env("LEASH_APPROVAL_SUMMARY", &summary)
        .env("LEASH_APPROVAL_EXPIRES_AT", &notice.expires_at)
        .env("LEASH_APPROVAL_DEVICE", &notice.from)
        .env("LEASH_BIN", &leash_bin)
        .env("LEASH_CONFIG", &config);
    crate::notifier::run(command, program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(from: &str, id: i64, state: NoticeState, expires_at: &str) -> ApprovalNotice {
        ApprovalNotice {
            v: leash_fleet::PROTOCOL_VERSION,
            from: from.into(),
            id,
            job_id: None,
            created_at: "2026-01-01T00:00:00Z".into(),
            state,
            outcome: None,
            argv: vec!["touch".into()],
            cwd: None,
            rule: None,
            reason: None,
            reversibility: None,
            suggested_grant: None,
            grant_shape: None,
            expires_at: expires_at.into(),
            sent_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn a_request_is_told_once_and_dropped_when_closed_or_expired() {
        let remote = RemoteApprovals::default();
        let later = "2099-01-01T00:00:00Z";
        assert!(remote.apply(notice("c", 1, NoticeState::Pending, later)));
        assert!(
            !remote.apply(notice("c", 1, NoticeState::Pending, later)),
            "a redelivered notice is not told twice"
        );
        assert!(remote.apply(notice("d", 1, NoticeState::Pending, later)));
        assert!(
            !remote.apply(notice("c", 2, NoticeState::Pending, "2000-01-01T00:00:00Z")),
            "an expired request is neither shown nor told"
        );
        let shown: Vec<_> = remote
            .pending()
            .iter()
            .map(|n| (n.from.clone(), n.id))
            .collect();
        assert_eq!(shown, [("c".to_owned(), 1), ("d".to_owned(), 1)]);
        assert!(!remote.apply(notice("c", 1, NoticeState::Closed, later)));
        let shown: Vec<_> = remote
            .pending()
            .iter()
            .map(|n| (n.from.clone(), n.id))
            .collect();
        assert_eq!(shown, [("d".to_owned(), 1)]);
    }
}
