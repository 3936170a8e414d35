//! `GET /v1/approvals`, `GET /v1/approvals/{id}`,
//! `POST /v1/approvals/{id}/approve`, `POST /v1/approvals/{id}/deny`.
//!
//! The nonce: lists never carry it (a list is what a dashboard or a log
//! scraper reads); `GET /v1/approvals/{id}` does, because the token holder is
//! fully trusted and `leash approve ID` without `--nonce` needs it. Answers
//! must name the nonce, so a notification button (which acts without a
//! session) can only answer the request it was made for; a wrong or stale
//! nonce is refused (403) and audited as `approval.nonce_refused`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use leash_store::{Approval, ApprovalState};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::approvals::RemoteAnswer;
use crate::context::DaemonContext;
use crate::grants::GrantSpec;
use crate::http::api_error::ApiError;
use crate::http::blocking::on_blocking_pool;
use crate::http::extract::{ApiJson, ApiQuery, PathId};

/// Who answered, when the body does not say.
const DEFAULT_BY: &str = "api";
/// Longest `by` accepted, in characters.
const MAX_BY_CHARS: usize = 128;

/// The query of `GET /v1/approvals`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListApprovals {
    /// `pending` (the default), `approved`, `denied`, `expired` or `all`.
    state: Option<String>,
}

/// `GET /v1/approvals?state=`: `{"approvals": [...]}`, oldest first, without nonces.
pub(crate) async fn list(
    State(ctx): State<Arc<DaemonContext>>,
    ApiQuery(query): ApiQuery<ListApprovals>,
) -> Result<Json<Value>, ApiError> {
    let state = match query.state.as_deref() {
        None => Some(ApprovalState::Pending),
        Some("all") => None,
        Some(text) => Some(ApprovalState::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`state`: unknown approval state {text:?}; expected one of pending, approved, \
                 denied, expired, all"
            ))
        })?),
    };
    let approvals = on_blocking_pool(&ctx, move |ctx| {
        ctx.with_store(|store| store.approvals(state))
    })
    .await?;
    let approvals: Vec<Value> = approvals.iter().map(without_nonce).collect();
    Ok(Json(json!({"approvals": approvals})))
}

/// `GET /v1/approvals/{id}`: `{"approval": {...}}`, with the nonce.
pub(crate) async fn show(
    State(ctx): State<Arc<DaemonContext>>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let approval =
        on_blocking_pool(&ctx, move |ctx| ctx.with_store(|store| store.approval(id))).await?;
    match approval {
        Some(approval) => {
            // The one answer that carries the nonce (`Approval` serializes
            // it redacted).
            let mut shown = json!(approval);
            shown["nonce"] = json!(approval.nonce.expose());
            Ok(Json(json!({"approval": shown})))
        }
        None => Err(ApiError::not_found(format!("approval {id} does not exist"))),
    }
}

/// The channel an answer came through, as recorded with the approval. The
/// server cannot tell a person at a terminal from a notification button, so
/// the client says; the set is closed, and the default is `http`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AnswerChannel {
    /// A program talking to the API directly.
    Http,
    /// `leash approve|deny ID` typed by a person.
    Cli,
    /// A notification button (`leash approve ID --nonce N --via termux`).
    Termux,
}

impl AnswerChannel {
    fn as_str(self) -> &'static str {
        match self {
            AnswerChannel::Http => "http",
            AnswerChannel::Cli => "cli",
            AnswerChannel::Termux => "termux",
        }
    }
}

/// The body of `POST /v1/approvals/{id}/approve|deny`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerBody {
    nonce: String,
    by: Option<String>,
    channel: Option<AnswerChannel>,
    /// With `approve`: also make this grant (scoped, maybe expiring).
    grant: Option<GrantSpec>,
    /// With `deny`: why (at most 300 characters); told to the model.
    reason: Option<String>,
}

/// `POST /v1/approvals/{id}/approve`: 200 `{"approval"}`.
pub(crate) async fn approve(
    State(ctx): State<Arc<DaemonContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<AnswerBody>,
) -> Result<Json<Value>, ApiError> {
    answer(ctx, id, body, RemoteAnswer::Approve).await
}

/// `POST /v1/approvals/{id}/deny`: 200 `{"approval"}`.
pub(crate) async fn deny(
    State(ctx): State<Arc<DaemonContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<AnswerBody>,
) -> Result<Json<Value>, ApiError> {
    answer(ctx, id, body, RemoteAnswer::Deny).await
}

async fn answer(
    ctx: Arc<DaemonContext>,
    id: i64,
    body: AnswerBody,
    answer: RemoteAnswer,
) -> Result<Json<Value>, ApiError> {
    if body.nonce.is_empty() {
        return Err(ApiError::bad_request("`nonce` is empty"));
    }
    let by = body.by.unwrap_or_else(|| DEFAULT_BY.to_owned());
    if by.is_empty() || by.chars().count() > MAX_BY_CHARS || by.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "`by` must be 1 to {MAX_BY_CHARS} characters without control characters"
        )));
    }
    let channel = body.channel.unwrap_or(AnswerChannel::Http);
    let reason = leash_core::approval::refusal_reason(body.reason.as_deref())
        .map_err(|err| ApiError::bad_request(err.to_string()))?;
    if reason.is_some() && answer != RemoteAnswer::Deny {
        return Err(ApiError::bad_request(
            "`reason` goes with deny, not approve",
        ));
    }
    if let Some(spec) = body.grant {
        if answer != RemoteAnswer::Approve {
            return Err(ApiError::bad_request("`grant` goes with approve, not deny"));
        }
        let (decided, grant) = on_blocking_pool(&ctx, move |ctx| {
            ctx.approve_with_grant(id, &body.nonce, &spec, channel.as_str(), &by)
        })
        .await?;
        return Ok(Json(
            json!({"approval": without_nonce(&decided), "grant": grant}),
        ));
    }
    let decided = on_blocking_pool(&ctx, move |ctx| {
        ctx.decide_approval_with_reason(
            id,
            &body.nonce,
            answer,
            channel.as_str(),
            &by,
            reason.as_deref(),
        )
    })
    .await?;
    tracing::info!(
        approval = id,
        state = decided.state.as_str(),
        channel = channel.as_str(),
        "approval answered through the API"
    );
    Ok(Json(json!({"approval": without_nonce(&decided)})))
}

/// An approval as lists and answers show it: everything but the nonce.
pub(crate) fn without_nonce(approval: &Approval) -> Value {
    let mut value = json!(approval);
    if let Some(object) = value.as_object_mut() {
        object.remove("nonce");
    }
    value
}
