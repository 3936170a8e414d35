//! `GET /v1/fleet/approvals`, `POST /v1/fleet/approvals/{id}/approve|deny`:
//! the pending approval requests of the other devices of the person's fleet
//! that this device trusts (told by their owners; see `fleet_notices`), and
//! answering one through the fleet. The owner decides: it hands the nonce
//! only to devices it trusts and applies its own nonce, expiry and
//! first-answer-wins checks, so this route can do nothing the owner would
//! not accept from `leash approve --on OWNER ID`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use leash_fleet::approvals::{ApprovalAnswer, Decision};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::context::DaemonContext;
use crate::http::api_error::{ApiError, ErrorCode};
use crate::http::extract::{ApiJson, PathId};

/// Longest `by` and `reason` accepted, in characters.
const MAX_BY_CHARS: usize = 128;
const MAX_REASON_CHARS: usize = 300;

/// `GET /v1/fleet/approvals`: `{"approvals": [...]}`, each with the owning
/// `device`; never a nonce (this device has none). Empty outside a fleet.
pub(crate) async fn list(State(ctx): State<Arc<DaemonContext>>) -> Json<Value> {
    let approvals: Vec<Value> = ctx
        .fleet_notices
        .pending()
        .into_iter()
        .map(|notice| {
            json!({
                "device": notice.from,
                "id": notice.id,
                "job_id": notice.job_id,
                "state": "pending",
                "argv": notice.argv,
                "cwd": notice.cwd,
                "rule": notice.rule,
                "reason": notice.reason,
                "reversibility": notice.reversibility,
                "suggested_grant": notice.suggested_grant,
                "grant_shape": notice.grant_shape,
                "created_at": notice.created_at,
                "expires_at": notice.expires_at,
            })
        })
        .collect();
    Json(json!({"approvals": approvals}))
}

/// The body of `POST /v1/fleet/approvals/{id}/approve|deny`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FleetAnswerBody {
    /// The device that owns request `{id}`.
    device: String,
    by: Option<String>,
    /// With `deny`: why; told to the model on the owner.
    reason: Option<String>,
}

pub(crate) async fn approve(
    State(ctx): State<Arc<DaemonContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<FleetAnswerBody>,
) -> Result<Json<Value>, ApiError> {
    answer(&ctx, id, body, true).await
}

pub(crate) async fn deny(
    State(ctx): State<Arc<DaemonContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<FleetAnswerBody>,
) -> Result<Json<Value>, ApiError> {
    answer(&ctx, id, body, false).await
}

async fn answer(
    ctx: &DaemonContext,
    id: i64,
    body: FleetAnswerBody,
    approve: bool,
) -> Result<Json<Value>, ApiError> {
    if leash_fleet::subjects::device(&body.device).is_err() {
        return Err(ApiError::bad_request(format!(
            "`device`: {:?} is not a device name",
            body.device
        )));
    }
    let by = body.by.unwrap_or_else(|| "api".to_owned());
    if by.chars().count() > MAX_BY_CHARS || by.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "`by`: at most {MAX_BY_CHARS} characters, no control characters"
        )));
    }
    if approve && body.reason.is_some() {
        return Err(ApiError::bad_request(
            "`reason` goes with deny, not approve",
        ));
    }
    if let Some(reason) = &body.reason
        && reason.chars().count() > MAX_REASON_CHARS
    {
        return Err(ApiError::bad_request(format!(
            "`reason`: at most {MAX_REASON_CHARS} characters"
        )));
    }
    let Some((fleet, _)) = ctx.fleet.get() else {
        return Err(ApiError::new(
            ErrorCode::FleetUnavailable,
            "this device has not joined a fleet (no `fleet:` in its config, or the server is unreachable)",
        ));
    };
    let decision = Decision {
        id,
        nonce: None,
        approve,
        by: format!("http:{by}"),
        reason: body.reason,
    };
    let answer = fleet
        .decide_on(&body.device, decision)
        .await
        .map_err(|err| ApiError::new(ErrorCode::FleetUnavailable, err.to_string()))?;
    match answer {
        ApprovalAnswer::Decided { id, state } => Ok(Json(
            json!({"device": body.device, "id": id, "state": state}),
        )),
        ApprovalAnswer::Refused { code, reason } => {
            let status = match code.as_str() {
                "not_pending" => ErrorCode::Conflict,
                "not_found" => ErrorCode::NotFound,
                "wrong_nonce" | "untrusted" => ErrorCode::FleetRefused,
                _ => ErrorCode::Internal,
            };
            Err(ApiError::new(
                status,
                format!("{} refused ({code}): {reason}", body.device),
            ))
        }
        ApprovalAnswer::Pending { .. } => Err(ApiError::internal(format!(
            "{} answered a question it was not asked",
            body.device
        ))),
    }
}
