//! The route table, binding and serving.
//!
//! [`router`] builds the axum router (tests serve it directly);
//! [`bind_api`] binds the listening socket (the lifecycle code binds first,
//! so a port in use stops the daemon before it takes work); [`serve_api`]
//! serves until the daemon stops, then shuts down gracefully: no new
//! connections, event streams end, requests in flight finish.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::middleware;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::context::DaemonContext;
use crate::error::DaemonError;
use crate::http::api_error::{ApiError, ErrorCode};
use crate::http::guarded_listener::{ConnectionLimits, GuardedListener};
use crate::http::{
    approvals_routes, audit_routes, auth, events_sse, fleet_routes, grants_routes, jobs_routes,
    metrics_route, openapi, status_route, undo_route, web, web_login,
};

/// Every route as `(method, path)`, in the OpenAPI document's spelling. The
/// router below and `openapi.json` both follow this table (tests check).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/v1/openapi.json"),
    ("POST", "/v1/jobs"),
    ("GET", "/v1/jobs"),
    ("GET", "/v1/jobs/{id}"),
    ("POST", "/v1/jobs/{id}/cancel"),
    ("POST", "/v1/jobs/{id}/undo"),
    ("GET", "/v1/approvals"),
    ("GET", "/v1/approvals/{id}"),
    ("POST", "/v1/approvals/{id}/approve"),
    ("POST", "/v1/approvals/{id}/deny"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/events"),
    ("GET", "/v1/status"),
    ("GET", "/v1/grants"),
    ("POST", "/v1/grants"),
    ("POST", "/v1/grants/{id}/revoke"),
    ("POST", "/v1/web/login-link"),
    ("GET", "/v1/fleet/approvals"),
    ("POST", "/v1/fleet/approvals/{id}/approve"),
    ("POST", "/v1/fleet/approvals/{id}/deny"),
];

/// The API's router over `ctx`.
pub fn router(ctx: Arc<DaemonContext>) -> Router {
    let body_limit = usize::try_from(ctx.loaded.config.api.max_body_kb.saturating_mul(1024))
        .unwrap_or(usize::MAX);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_route::metrics))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/v1/jobs", get(jobs_routes::list).post(jobs_routes::submit))
        .route("/v1/jobs/{id}", get(jobs_routes::show))
        .route("/v1/jobs/{id}/cancel", post(jobs_routes::cancel))
        .route("/v1/jobs/{id}/undo", post(undo_route::undo))
        .route("/v1/approvals", get(approvals_routes::list))
        .route("/v1/approvals/{id}", get(approvals_routes::show))
        .route(
            "/v1/approvals/{id}/approve",
            post(approvals_routes::approve),
        )
        .route("/v1/approvals/{id}/deny", post(approvals_routes::deny))
        .route("/v1/audit", get(audit_routes::list))
        .route("/v1/events", get(events_sse::stream_events))
        .route("/v1/status", get(status_route::status))
        .route(
            "/v1/grants",
            get(grants_routes::list).post(grants_routes::create),
        )
        .route("/v1/grants/{id}/revoke", post(grants_routes::revoke))
        .route("/v1/web/login-link", post(web_login::login_link))
        .route("/v1/fleet/approvals", get(fleet_routes::list))
        .route(
            "/v1/fleet/approvals/{id}/approve",
            post(fleet_routes::approve),
        )
        .route("/v1/fleet/approvals/{id}/deny", post(fleet_routes::deny))
        .merge(web::routes(Arc::clone(&ctx)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        // Added last so it wraps everything above, fallbacks included: the
        // token is checked before a 404 or 405 could tell what exists.
        .layer(middleware::from_fn_with_state(
            Arc::clone(&ctx),
            auth::guard,
        ))
        .with_state(ctx)
}

/// Binds the API's listening socket.
pub async fn bind_api(listen: SocketAddr) -> Result<TcpListener, DaemonError> {
    TcpListener::bind(listen).await.map_err(|err| {
        let hint = if err.kind() == std::io::ErrorKind::AddrInUse {
            " (is another leash daemon or program using this port? set api.listen)"
        } else {
            ""
        };
        DaemonError::Api {
            listen: listen.to_string(),
            problem: format!("cannot listen: {err}{hint}"),
        }
    })
}

/// Serves the API on `listener` until `ctx.stopped()` resolves, with the
/// default [`ConnectionLimits`].
pub async fn serve_api(ctx: Arc<DaemonContext>, listener: TcpListener) -> Result<(), DaemonError> {
    serve_api_with(ctx, listener, ConnectionLimits::default()).await
}

/// [`serve_api`] with explicit connection limits (tests shorten them).
pub async fn serve_api_with(
    ctx: Arc<DaemonContext>,
    listener: TcpListener,
    limits: ConnectionLimits,
) -> Result<(), DaemonError> {
    let listen = listener
        .local_addr()
        .map_or_else(|_| "an unknown address".to_owned(), |addr| addr.to_string());
    if ctx.api_token.expose().trim().is_empty() {
        return Err(DaemonError::Api {
            listen,
            problem: "the API token is empty; refusing to serve an API nobody could be kept \
                      out of (delete the token file to get a new one)"
                .to_owned(),
        });
    }
    tracing::info!(%listen, "HTTP API listening");
    let app = router(Arc::clone(&ctx));
    let stop = async move { ctx.stopped().await };
    axum::serve(GuardedListener::new(listener, limits), app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|err| DaemonError::Api {
            listen: listen.clone(),
            problem: format!("serving failed: {err}"),
        })?;
    tracing::info!(%listen, "HTTP API stopped");
    Ok(())
}

/// `GET /healthz` (no token): `{"ok": true}` while the daemon serves.
async fn healthz() -> Json<Value> {
    Json(json!({"ok": true}))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    let allowed: Vec<&str> = ROUTES
        .iter()
        .filter(|(_, path)| path_matches(path, uri.path()))
        .map(|(method, _)| *method)
        .collect();
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{} does not take {method}; it takes {}",
            uri.path(),
            allowed.join(", ")
        ),
    )
}

/// Whether a request path fits a route pattern (`{id}` matches one segment).
fn path_matches(pattern: &str, path: &str) -> bool {
    let mut pattern_parts = pattern.split('/');
    let mut path_parts = path.split('/');
    loop {
        match (pattern_parts.next(), path_parts.next()) {
            (None, None) => return true,
            (Some(p), Some(s)) if p == s || (p.starts_with('{') && !s.is_empty()) => {}
            (Some(_), Some(_)) | (Some(_), None) | (None, Some(_)) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("/v1/jobs/{id}", "/v1/jobs/7", true)]
    #[case("/v1/jobs/{id}", "/v1/jobs/7/cancel", false)]
    #[case("/v1/jobs/{id}", "/v1/jobs/", false)]
    #[case("/v1/jobs", "/v1/jobs", true)]
    fn route_patterns(#[case] pattern: &str, #[case] path: &str, #[case] matches: bool) {
        assert_eq!(path_matches(pattern, path), matches);
    }
}
