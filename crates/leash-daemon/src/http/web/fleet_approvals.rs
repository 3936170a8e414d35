//! The page's part of "approvals follow the person": the pending requests of
//! the other devices this one trusts (told through the fleet, see
//! `fleet_notices`), each with its owning device and buttons that answer
//! through the fleet (`POST /ui/fleet-approvals/{device}/{id}/{approve|deny}`).
//! The owner decides — nonce, expiry, first answer wins — so a button can do
//! no more than `leash approve --on DEVICE ID`. Everything shown came from
//! another device (and its model): escaped like local requests.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::Extension;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use leash_fleet::approvals::{ApprovalAnswer, Decision};
use leash_fleet::notices::ApprovalNotice;

use super::WebSession;
use super::actions::{csrf_ok, csrf_refused, render_approvals};
use super::html::{argv_line, csrf_field, esc};
use crate::context::DaemonContext;

/// The section listing `notices` (nothing when there are none).
pub(super) fn section(notices: &[ApprovalNotice], csrf: &str) -> String {
    if notices.is_empty() {
        return String::new();
    }
    let mut html = String::from("<h1>Waiting on your other devices</h1>");
    for notice in notices {
        let device = esc(&notice.from);
        let id = notice.id;
        let _ = write!(
            html,
            "<section class=\"approval\" id=\"approval-{device}-{id}\"><h2>#{id} on {device}</h2>\
             <p><code class=\"argv\">{argv}</code></p>\
             <dl><dt>In</dt><dd>{cwd}</dd><dt>Why asked</dt><dd>{rule}: {reason}</dd>\
             <dt>Undo</dt><dd>{undo}</dd><dt>Expires</dt><dd>{expires}</dd></dl>\
             <div class=\"buttons\">\
             <form method=\"post\" action=\"/ui/fleet-approvals/{device}/{id}/approve\">{csrf}<button class=\"approve\">Approve once</button></form>\
             <form method=\"post\" action=\"/ui/fleet-approvals/{device}/{id}/deny\" class=\"deny\">{csrf}\
             <input name=\"reason\" maxlength=\"{max_reason}\" placeholder=\"Why not? (optional; the model is told)\" autocomplete=\"off\">\
             <button class=\"deny\">Deny</button></form></div></section>",
            argv = esc(&argv_line(&notice.argv)),
            cwd = esc(notice.cwd.as_deref().unwrap_or("")),
            rule = esc(notice.rule.as_deref().unwrap_or("")),
            reason = esc(notice.reason.as_deref().unwrap_or("")),
            undo = esc(notice.reversibility.as_deref().unwrap_or("unknown")),
            expires = esc(&notice.expires_at),
            csrf = csrf_field(csrf),
            max_reason = leash_core::approval::MAX_REASON_CHARS,
        );
    }
    html
}

/// `POST /ui/fleet-approvals/{device}/{id}/{approve|deny}`.
pub(crate) async fn answer(
    State(ctx): State<Arc<DaemonContext>>,
    Extension(session): Extension<WebSession>,
    Path((device, id, answer)): Path<(String, i64, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&session, &form) {
        return csrf_refused();
    }
    let refused = |status: StatusCode, notice: String| {
        let ctx = Arc::clone(&ctx);
        let session = session.clone();
        async move { render_approvals(&ctx, &session, status, Some(notice)).await }
    };
    if leash_fleet::subjects::device(&device).is_err() {
        return refused(
            StatusCode::BAD_REQUEST,
            format!("{device:?} is not a device"),
        )
        .await;
    }
    let (approve, reason) = match answer.as_str() {
        "approve" => (true, None),
        "deny" => {
            match leash_core::approval::refusal_reason(form.get("reason").map(String::as_str)) {
                Ok(reason) => (false, reason),
                Err(err) => return refused(StatusCode::BAD_REQUEST, err.to_string()).await,
            }
        }
        other => {
            return refused(
                StatusCode::NOT_FOUND,
                format!("no answer {other:?}; approve or deny"),
            )
            .await;
        }
    };
    let Some((fleet, _)) = ctx.fleet.get() else {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "this device has not joined its fleet".to_owned(),
        )
        .await;
    };
    let decision = Decision {
        id,
        nonce: None,
        approve,
        by: "web".to_owned(),
        reason,
    };
    match fleet.decide_on(&device, decision).await {
        Ok(ApprovalAnswer::Decided { .. }) => Redirect::to("/ui/approvals").into_response(),
        Ok(ApprovalAnswer::Refused { code, reason }) => {
            refused(
                StatusCode::CONFLICT,
                format!("{device} refused ({code}): {reason}"),
            )
            .await
        }
        Ok(ApprovalAnswer::Pending { .. }) => {
            refused(
                StatusCode::BAD_GATEWAY,
                format!("{device} answered a question it was not asked"),
            )
            .await
        }
        Err(err) => refused(StatusCode::SERVICE_UNAVAILABLE, err.to_string()).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_devices_request_is_escaped_and_answered_through_the_fleet() {
        let notice = ApprovalNotice {
            v: leash_fleet::PROTOCOL_VERSION,
            from: "c".into(),
            id: 5,
            job_id: None,
            created_at: "2026-01-01T00:00:00Z".into(),
            state: leash_fleet::notices::NoticeState::Pending,
            outcome: None,
            argv: vec!["touch".into(), "<script>x</script>".into()],
            cwd: Some("/w\"><b>".into()),
            rule: None,
            reason: None,
            reversibility: None,
            suggested_grant: None,
            grant_shape: None,
            expires_at: "2099-01-01T00:00:00Z".into(),
            sent_at: "2026-01-01T00:00:00Z".into(),
        };
        let html = section(&[notice], "tok");
        assert!(!html.contains("<script>x"), "{html}");
        assert!(!html.contains("\"><b>"), "{html}");
        assert!(
            html.contains("action=\"/ui/fleet-approvals/c/5/approve\""),
            "{html}"
        );
        assert!(html.contains("#5 on c"), "{html}");
        assert!(!html.contains("nonce"), "{html}");
        assert!(section(&[], "tok").is_empty());
    }
}
