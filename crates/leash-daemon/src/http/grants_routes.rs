//! `GET /v1/grants`, `POST /v1/grants`, `POST /v1/grants/{id}/revoke`.
//!
//! A grant refused because its pattern would cover a denied argv is a 400
//! whose `detail` names that argv and the rule (see
//! [`leash_policy::Policy::check_grant`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::context::DaemonContext;
use crate::grants::GrantSpec;
use crate::http::api_error::ApiError;
use crate::http::blocking::on_blocking_pool;
use crate::http::extract::{ApiJson, ApiQuery, PathId};

/// Who made or revoked a grant, when the body does not say.
const DEFAULT_BY: &str = "api";

/// The query of `GET /v1/grants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListGrants {
    /// `true`: revoked and expired ones too.
    all: Option<bool>,
}

/// `GET /v1/grants[?all=true]`: `{"grants": [...]}`, newest first.
pub(crate) async fn list(
    State(ctx): State<Arc<DaemonContext>>,
    ApiQuery(query): ApiQuery<ListGrants>,
) -> Result<Json<Value>, ApiError> {
    let active_only = !query.all.unwrap_or(false);
    let grants = on_blocking_pool(&ctx, move |ctx| {
        ctx.with_store(|store| store.grants(active_only))
    })
    .await?;
    Ok(Json(json!({"grants": grants})))
}

/// `POST /v1/grants`: 201-like 200 `{"grant"}`.
pub(crate) async fn create(
    State(ctx): State<Arc<DaemonContext>>,
    ApiJson(spec): ApiJson<GrantSpec>,
) -> Result<Json<Value>, ApiError> {
    let by = checked_by(spec.by.clone())?;
    let grant =
        on_blocking_pool(&ctx, move |ctx| ctx.create_grant(&spec, None, &by, "http")).await?;
    Ok(Json(json!({"grant": grant})))
}

/// The body of `POST /v1/grants/{id}/revoke`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeBody {
    by: Option<String>,
}

/// `POST /v1/grants/{id}/revoke`: `{"grant"}`; 409 when already revoked.
pub(crate) async fn revoke(
    State(ctx): State<Arc<DaemonContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<RevokeBody>,
) -> Result<Json<Value>, ApiError> {
    let by = checked_by(body.by)?;
    let grant = on_blocking_pool(&ctx, move |ctx| ctx.revoke_grant(id, &by, "http")).await?;
    Ok(Json(json!({"grant": grant})))
}

/// `by` as given (1–128 characters, no control characters), else `api`.
pub(crate) fn checked_by(by: Option<String>) -> Result<String, ApiError> {
    let by = by.unwrap_or_else(|| DEFAULT_BY.to_owned());
    if by.is_empty() || by.chars().count() > 128 || by.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "`by` must be 1 to 128 characters without control characters",
        ));
    }
    Ok(by)
}
