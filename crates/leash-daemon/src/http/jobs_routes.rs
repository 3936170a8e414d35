//! `POST /v1/jobs`, `GET /v1/jobs`, `GET /v1/jobs/{id}`,
//! `POST /v1/jobs/{id}/cancel`.
//!
//! A submitted job is durable (a row in the store, audited as `job.queued`)
//! before the 202 goes out. A submission whose `dedup_key` matches a pending
//! job is not queued again: the answer is still 202, with the existing job and
//! `"duplicate": true` (the request was accepted; the work is already queued).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leash_config::ExecutionMode;
use leash_store::{Admission, JobState, StoreError};
use serde::Deserialize;
use serde_json::json;

use crate::context::DaemonContext;
use crate::error::DaemonError;
use crate::http::api_error::{ApiError, ErrorCode};
use crate::http::blocking::on_blocking_pool;
use crate::http::extract::{ApiJson, ApiQuery, PathId};
use crate::http::mode_ceiling::mode_within_ceiling;
use crate::intake::{TriggerEvent, TriggerPayload, TriggerSource};

/// Largest prompt accepted, in bytes.
pub(crate) const MAX_PROMPT_BYTES: usize = 64 * 1024;
/// Longest de-duplication key accepted, in characters.
const MAX_DEDUP_KEY_CHARS: usize = 256;
/// `GET /v1/jobs` without `limit`.
const DEFAULT_LIST_LIMIT: u32 = 50;
/// The most jobs one list returns.
pub(crate) const MAX_LIST_LIMIT: u32 = 1000;
/// How the payload is labelled for the model (it is untrusted data).
const PAYLOAD_LABEL: &str = "payload of an HTTP API request";
/// Who cancelled, in the audit log.
const CANCELLED_BY: &str = "http";

/// The body of `POST /v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitJob {
    prompt: String,
    mode: Option<String>,
    priority: Option<i64>,
    dedup_key: Option<String>,
    payload: Option<String>,
}

/// `POST /v1/jobs`: 202 `{"job", "duplicate"}` with `Location: /v1/jobs/{id}`.
pub(crate) async fn submit(
    State(ctx): State<Arc<DaemonContext>>,
    ApiJson(body): ApiJson<SubmitJob>,
) -> Result<Response, ApiError> {
    let event = trigger_event(&ctx, body)?;
    let admission = on_blocking_pool(&ctx, move |ctx| ctx.admit(event)).await?;
    let duplicate = match &admission {
        Admission::Queued(_) => false,
        Admission::Duplicate(_) => true,
    };
    let job = admission.job();
    let location = HeaderValue::from_str(&format!("/v1/jobs/{}", job.id))
        .map_err(|err| ApiError::internal(format!("job location header: {err}")))?;
    let mut response = (
        StatusCode::ACCEPTED,
        Json(json!({"job": job, "duplicate": duplicate})),
    )
        .into_response();
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

/// Checks the body and turns it into a trigger event.
fn trigger_event(ctx: &DaemonContext, body: SubmitJob) -> Result<TriggerEvent, ApiError> {
    if body.prompt.trim().is_empty() {
        return Err(ApiError::bad_request("`prompt` is empty"));
    }
    if body.prompt.len() > MAX_PROMPT_BYTES {
        return Err(ApiError::bad_request(format!(
            "`prompt` is {} bytes; at most {MAX_PROMPT_BYTES} are accepted",
            body.prompt.len()
        )));
    }
    if let Some(key) = &body.dedup_key
        && (key.is_empty() || key.chars().count() > MAX_DEDUP_KEY_CHARS)
    {
        return Err(ApiError::bad_request(format!(
            "`dedup_key` must be 1 to {MAX_DEDUP_KEY_CHARS} characters, found {}",
            key.chars().count()
        )));
    }
    let mode = match &body.mode {
        Some(text) => Some(requested_mode(ctx, text)?),
        None => None,
    };
    let mut event = TriggerEvent::new(TriggerSource::Http, body.prompt);
    event.mode = mode;
    event.priority = body.priority.unwrap_or(0);
    event.dedup_key = body.dedup_key;
    event.payload = body.payload.map(|text| TriggerPayload {
        label: PAYLOAD_LABEL.to_owned(),
        text,
    });
    Ok(event)
}

/// Parses `mode` and refuses one looser than `security.execution_mode`.
fn requested_mode(ctx: &DaemonContext, text: &str) -> Result<ExecutionMode, ApiError> {
    let mode = leash_config::parse_enum::<ExecutionMode>(text)
        .map_err(|err| ApiError::bad_request(format!("`mode`: {err}")))?;
    let ceiling = ctx.loaded.config.security.execution_mode;
    if !mode_within_ceiling(mode, ceiling) {
        return Err(ApiError::new(
            ErrorCode::ModeNotAllowed,
            format!(
                "`mode` {mode} is looser than security.execution_mode ({ceiling}); a request \
                 may only keep the configured mode or ask for a stricter one \
                 (auto-approve < prompt < dry-run < audit-only)"
            ),
        ));
    }
    Ok(mode)
}

/// The query of `GET /v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListJobs {
    state: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/jobs?state=&limit=`: `{"jobs": [...]}`.
pub(crate) async fn list(
    State(ctx): State<Arc<DaemonContext>>,
    ApiQuery(query): ApiQuery<ListJobs>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let state = match query.state.as_deref() {
        Some(text) => Some(JobState::parse(text).ok_or_else(|| {
            let known: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::bad_request(format!(
                "`state`: unknown job state {text:?}; expected one of {}",
                known.join(", ")
            ))
        })?),
        None => None,
    };
    let limit = list_limit(query.limit)?;
    let jobs = on_blocking_pool(&ctx, move |ctx| {
        ctx.with_store(|store| store.jobs(state, limit))
    })
    .await?;
    Ok(Json(json!({"jobs": jobs})))
}

/// `limit`, checked against 1..=[`MAX_LIST_LIMIT`].
pub(crate) fn list_limit(given: Option<u32>) -> Result<u32, ApiError> {
    match given {
        None => Ok(DEFAULT_LIST_LIMIT),
        Some(limit) if (1..=MAX_LIST_LIMIT).contains(&limit) => Ok(limit),
        Some(limit) => Err(ApiError::bad_request(format!(
            "`limit` must be between 1 and {MAX_LIST_LIMIT}, found {limit}"
        ))),
    }
}

/// `GET /v1/jobs/{id}`: `{"job": {...}}`.
pub(crate) async fn show(
    State(ctx): State<Arc<DaemonContext>>,
    PathId(id): PathId,
) -> Result<Json<serde_json::Value>, ApiError> {
    let job = on_blocking_pool(&ctx, move |ctx| ctx.with_store(|store| store.job(id))).await?;
    match job {
        Some(job) => Ok(Json(json!({"job": job}))),
        None => Err(ApiError::not_found(format!("job {id} does not exist"))),
    }
}

/// `POST /v1/jobs/{id}/cancel`: 200 `{"job"}` when the job is cancelled now
/// (it was queued or interrupted), 202 when a running job was asked to stop
/// before its next action; 409 for a job that already ended.
pub(crate) async fn cancel(
    State(ctx): State<Arc<DaemonContext>>,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    let job = on_blocking_pool(&ctx, move |ctx| cancel_job(ctx, id)).await?;
    let status = if job.state == JobState::Cancelled {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(json!({"job": job}))).into_response())
}

/// Cancels, retrying once when the worker took a queued job in between (the
/// store's compare-and-set then refuses the move from the old state, and the
/// second attempt flags the now running job instead).
fn cancel_job(ctx: &DaemonContext, id: i64) -> Result<leash_store::Job, DaemonError> {
    match ctx.request_cancel(id, CANCELLED_BY) {
        Err(DaemonError::Store(StoreError::InvalidTransition { current, .. }))
            if JobState::parse(&current).is_some_and(|state| !state.is_final()) =>
        {
            ctx.request_cancel(id, CANCELLED_BY)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::default(None, Ok(DEFAULT_LIST_LIMIT))]
    #[case::one(Some(1), Ok(1))]
    #[case::max(Some(MAX_LIST_LIMIT), Ok(MAX_LIST_LIMIT))]
    #[case::zero_refused(Some(0), Err(()))]
    #[case::too_many_refused(Some(MAX_LIST_LIMIT + 1), Err(()))]
    fn list_limits(#[case] given: Option<u32>, #[case] expected: Result<u32, ()>) {
        assert_eq!(list_limit(given).map_err(|_| ()), expected);
    }
}
