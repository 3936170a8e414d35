//! Extractors that refuse bad input in the API's error shape: a JSON body
//! ([`ApiJson`]), a query string ([`ApiQuery`]) and a numeric path id
//! ([`PathId`]). axum's own rejections are plain text with status 422 for
//! well-formed JSON of the wrong shape; here every input error is a 400 (413
//! for an oversized body, 415 for a missing content type) whose `detail`
//! names the problem — the field, the line and column, the route.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::context::DaemonContext;
use crate::http::api_error::{ApiError, ErrorCode};

/// A JSON request body of type `T` (types use `deny_unknown_fields`).
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub T);

impl<T> FromRequest<Arc<DaemonContext>> for ApiJson<T>
where
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, ctx: &Arc<DaemonContext>) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, ctx).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection, ctx.loaded.config.api.max_body_kb)),
        }
    }
}

/// Maps axum's JSON rejection onto the API's codes.
fn json_rejection(rejection: JsonRejection, max_body_kb: u64) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than api.max_body_kb ({max_body_kb} KiB)"),
        );
    }
    match rejection {
        JsonRejection::JsonDataError(err) => ApiError::bad_request(err.body_text()),
        JsonRejection::JsonSyntaxError(err) => {
            ApiError::new(ErrorCode::MalformedJson, err.body_text())
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the request body must be JSON with `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(err) => ApiError::bad_request(format!(
            "the request body could not be read: {}",
            err.body_text()
        )),
        // `JsonRejection` is non-exhaustive (axum's, not ours): anything new
        // is still an input error, named by axum's own text.
        other => ApiError::bad_request(other.body_text()),
    }
}

/// A query string of type `T` (types use `deny_unknown_fields`).
#[derive(Debug)]
pub(crate) struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::bad_request(format!(
                "{} (in {})",
                rejection.body_text(),
                parts.uri.path()
            ))),
        }
    }
}

/// The `{id}` of a route: a positive integer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PathId(pub i64);

impl<S> FromRequestParts<S> for PathId
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let route = parts.uri.path().to_owned();
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::bad_request(format!("{route}: {}", rejection.body_text()))
            })?;
        match text.parse::<i64>() {
            Ok(id) if id > 0 => Ok(PathId(id)),
            Ok(_) | Err(_) => Err(ApiError::bad_request(format!(
                "the id in {route} must be a positive integer, found {text:?}"
            ))),
        }
    }
}
