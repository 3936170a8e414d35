//! The API's one error shape, `{"error": "<code>", "detail": "<message>"}`:
//! `error` is a short, stable code a program can match on; `detail` is for a
//! person and names what is wrong (the field, the route, the id).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leash_store::StoreError;
use serde_json::json;

use crate::approvals::DecideError;
use crate::error::DaemonError;

/// What went wrong, as a closed set; each has one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the body, a query parameter or a path id is not what the route takes.
    BadRequest,
    /// 400: the body is not JSON at all.
    MalformedJson,
    /// 401: no bearer token, or the wrong one.
    Unauthorized,
    /// 403: a request asked for an execution mode looser than the config's.
    ModeNotAllowed,
    /// 403: the nonce does not belong to this approval (audited).
    WrongNonce,
    /// 404: no such route, job or approval.
    NotFound,
    /// 405: the route exists but not with this method.
    MethodNotAllowed,
    /// 409: the job or approval is already past the point the request needs.
    Conflict,
    /// 413: the body is larger than `api.max_body_kb`.
    PayloadTooLarge,
    /// 415: a body without `Content-Type: application/json`.
    UnsupportedMediaType,
    /// 500: the daemon failed (details are logged).
    Internal,
    /// 503: the daemon is stopping and takes no new work.
    ShuttingDown,
    /// 403: another device of the fleet refused (this device is not trusted
    /// there, or the request's nonce did not match).
    FleetRefused,
    /// 503: this device is not in a fleet, or the other device did not answer.
    FleetUnavailable,
}

impl ErrorCode {
    /// The `error` member's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::ModeNotAllowed => "mode_not_allowed",
            ErrorCode::WrongNonce => "wrong_nonce",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Internal => "internal",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::FleetRefused => "fleet_refused",
            ErrorCode::FleetUnavailable => "fleet_unavailable",
        }
    }

    /// The HTTP status that goes with it.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest | ErrorCode::MalformedJson => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::ModeNotAllowed | ErrorCode::WrongNonce => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::FleetRefused => StatusCode::FORBIDDEN,
            ErrorCode::FleetUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The stable code clients match on (and its HTTP status).
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub detail: String,
}

impl ApiError {
    /// An error with `code` and `detail`.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            code,
            detail: detail.into(),
        }
    }

    /// 400: the request is malformed or asks for something impossible.
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, detail)
    }

    /// 404: no such job, approval or entry.
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NotFound, detail)
    }

    /// A daemon failure the client cannot fix. Logged here with the full
    /// error; the client gets the same text (the token holder is trusted).
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "API request failed");
        ApiError::new(ErrorCode::Internal, format!("internal error: {detail}"))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": self.code.as_str(), "detail": self.detail}));
        let mut response = (self.code.status(), body).into_response();
        if self.code == ErrorCode::Unauthorized {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"leash\""),
            );
        }
        response
    }
}

impl From<DaemonError> for ApiError {
    fn from(err: DaemonError) -> ApiError {
        match err {
            DaemonError::ShuttingDown => ApiError::new(
                ErrorCode::ShuttingDown,
                "the daemon is shutting down and takes no new work; retry after it restarts",
            ),
            DaemonError::Store(StoreError::NotFound { table, id, .. }) => {
                ApiError::not_found(format!("{} {id} does not exist", singular(table)))
            }
            DaemonError::Store(StoreError::InvalidTransition {
                table,
                id,
                current,
                requested,
            }) => ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "{} {id} is already {current}; it cannot become {requested}",
                    singular(table)
                ),
            ),
            other => ApiError::internal(other),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        ApiError::from(DaemonError::Store(err))
    }
}

impl From<DecideError> for ApiError {
    fn from(err: DecideError) -> ApiError {
        match err {
            DecideError::NotFound { .. } => ApiError::not_found(err.to_string()),
            DecideError::WrongNonce { .. } => ApiError::new(
                ErrorCode::WrongNonce,
                format!("{err}; the refusal is recorded in the audit log"),
            ),
            DecideError::NotPending { .. } => ApiError::new(ErrorCode::Conflict, err.to_string()),
            DecideError::Daemon(inner) => ApiError::from(inner),
        }
    }
}

impl From<crate::grants::GrantRefused> for ApiError {
    fn from(err: crate::grants::GrantRefused) -> ApiError {
        use crate::grants::GrantRefused;
        match err {
            GrantRefused::Pattern(_) | GrantRefused::Invalid(_) => {
                ApiError::bad_request(err.to_string())
            }
            GrantRefused::Decide(inner) => ApiError::from(inner),
            GrantRefused::Daemon(inner) => ApiError::from(inner),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(err: tokio::task::JoinError) -> ApiError {
        ApiError::internal(format!("a blocking store task failed: {err}"))
    }
}

/// `jobs` → `job`, `approvals` → `approval` (store tables to the words people use).
fn singular(table: &str) -> &str {
    table.strip_suffix('s').unwrap_or(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_not_found_names_the_thing_and_id() {
        let err = ApiError::from(DaemonError::Store(StoreError::NotFound {
            table: "jobs",
            id: 42,
            path: "/x/leash.db".into(),
        }));
        assert_eq!(err.code, ErrorCode::NotFound);
        assert_eq!(err.detail, "job 42 does not exist");
    }

    #[test]
    fn shutting_down_is_503() {
        let err = ApiError::from(DaemonError::ShuttingDown);
        assert_eq!(err.code.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
