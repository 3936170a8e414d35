//! The bearer-token guard in front of every route but `/healthz`. Any app on
//! the device can reach 127.0.0.1, so the token is all that protects the API.
//!
//! The guard runs before routing answers 404 or 405, so a client without the
//! token learns nothing about which routes exist. The comparison is constant
//! time (through sha256 digests, so the length does not leak either). Every
//! request is counted and logged here.

use std::sync::Arc;
use std::time::Instant;

use crate::secret::secrets_match;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::context::DaemonContext;
use crate::http::api_error::{ApiError, ErrorCode};
use crate::metrics::Metrics;

/// The only route that answers without the token (liveness probes).
pub(crate) const PUBLIC_PATH: &str = "/healthz";

/// Middleware: count, check the token, log.
pub(crate) async fn guard(
    State(ctx): State<Arc<DaemonContext>>,
    request: Request,
    next: Next,
) -> Response {
    Metrics::bump(&ctx.metrics.http_requests);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // The web page (`/ui`) has its own guard: session cookie + CSRF token
    // (see `http::web`), since a browser cannot send the bearer header.
    if path != PUBLIC_PATH && !is_web_path(&path) {
        let problem = match bearer_token(request.headers()) {
            Some(given) if secrets_match(ctx.api_token.expose(), given) => None,
            Some(_) => Some("the bearer token is wrong"),
            None => Some("missing `Authorization: Bearer <token>` header"),
        };
        if let Some(problem) = problem {
            Metrics::bump(&ctx.metrics.http_unauthorized);
            tracing::warn!(%method, %path, problem, "API request refused");
            return ApiError::new(
                ErrorCode::Unauthorized,
                format!("{problem}; the token is in the daemon's api.token file"),
            )
            .into_response();
        }
    }
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "API request"
    );
    response
}

/// Whether `path` belongs to the web page (guarded by `web::web_guard`).
fn is_web_path(path: &str) -> bool {
    path == "/ui" || path.starts_with("/ui/")
}

/// The token of an `Authorization: Bearer <token>` header (scheme name
/// case-insensitive, as HTTP says).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use rstest::rstest;

    #[rstest]
    #[case::exact("Bearer abc", Some("abc"))]
    #[case::lowercase_scheme("bearer abc", Some("abc"))]
    #[case::extra_spaces("  Bearer   abc  ", Some("abc"))]
    #[case::basic_scheme("Basic abc", None)]
    #[case::no_scheme("abc", None)]
    fn bearer_header_parsing(#[case] value: &str, #[case] expected: Option<&str>) {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        assert_eq!(bearer_token(&headers), expected);
    }

    #[rstest]
    #[case::same("tok", "tok", true)]
    #[case::different("tok", "tik", false)]
    #[case::prefix("tok", "to", false)]
    #[case::empty_expected_never_matches("", "", false)]
    fn token_comparison(#[case] expected: &str, #[case] given: &str, #[case] matches: bool) {
        assert_eq!(secrets_match(expected, given), matches);
    }
}
