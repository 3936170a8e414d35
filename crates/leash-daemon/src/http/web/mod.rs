//! The web page, served by the daemon on its API address under `/ui/`:
//! server-rendered HTML, one small dependency-free script (live refresh on
//! the daemon's events) and one stylesheet, both served from the binary.
//!
//! Security: the bearer-token guard does not cover `/ui` (a browser cannot
//! send the header); [`web_guard`] does instead. It requires a session
//! cookie (`HttpOnly; SameSite=Strict`, see [`session`]) on every page but
//! the login ones and the assets, refuses a state-changing request that a
//! browser marks as cross-site (`Sec-Fetch-Site`, `Origin`), and every
//! form's CSRF token is checked by its handler. Every answer carries a strict
//! Content-Security-Policy (no inline script or style, nothing from other
//! origins, no framing) and `no-store`.
//!
//! - `session`: sessions, login codes, cookies; `html`: escaping and the
//!   frame; `pages`: the pages; `actions`: the forms' handlers;
//!   `fleet_approvals`: other devices' requests, answered through the fleet.

mod actions;
mod approval_facts;
mod fleet_approvals;
mod html;
mod pages;
pub(crate) mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::context::DaemonContext;
use crate::http::events_sse;

pub use session::WebSessions;

/// The page's Content-Security-Policy: only this origin's script, style and
/// connections; no inline code, no plugins, no framing, forms post here only.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The session a page or form runs in (put in the request by [`web_guard`]).
#[derive(Debug, Clone)]
pub(crate) struct WebSession {
    pub id: String,
    pub csrf: String,
}

/// Paths that answer without a session.
fn is_public(path: &str) -> bool {
    path == "/ui/login"
        || path.starts_with("/ui/login/")
        || path == "/ui/app.js"
        || path == "/ui/app.css"
}

/// The `/ui` routes.
pub(crate) fn routes(ctx: Arc<DaemonContext>) -> Router<Arc<DaemonContext>> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(actions::jobs_page))
        .route("/ui/jobs/{id}", get(actions::job_page))
        .route("/ui/approvals", get(actions::approvals_page))
        .route("/ui/approvals/{id}/{answer}", post(actions::answer))
        .route(
            "/ui/fleet-approvals/{device}/{id}/{answer}",
            post(fleet_approvals::answer),
        )
        .route("/ui/grants", get(actions::grants_page))
        .route("/ui/grants/{id}/revoke", post(actions::revoke))
        .route("/ui/audit", get(actions::audit_page))
        .route("/ui/audit/verify", post(actions::verify))
        .route("/ui/events", get(events_sse::stream_events))
        .route(
            "/ui/login",
            get(actions::login_page).post(actions::login_token),
        )
        .route("/ui/login/{code}", get(actions::login_link))
        .route("/ui/logout", post(actions::logout))
        .route("/ui/app.js", get(script))
        .route("/ui/app.css", get(stylesheet))
        .layer(middleware::from_fn_with_state(ctx, web_guard))
}

/// Session check, cross-site refusal and the security headers.
async fn web_guard(
    State(ctx): State<Arc<DaemonContext>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let changes_state = request.method() != Method::GET && request.method() != Method::HEAD;
    let mut response = if changes_state && is_cross_site(request.headers()) {
        tracing::warn!(%path, "cross-site request to the web page refused");
        (StatusCode::FORBIDDEN, "cross-site requests are refused").into_response()
    } else if is_public(&path) {
        next.run(request).await
    } else {
        let session = session::session_id(request.headers())
            .and_then(|id| ctx.web.csrf_of(&id).map(|csrf| WebSession { id, csrf }));
        match session {
            Some(session) => {
                request.extensions_mut().insert(session);
                next.run(request).await
            }
            None if changes_state => {
                (StatusCode::FORBIDDEN, "log in first: no session").into_response()
            }
            None => Redirect::to("/ui/login").into_response(),
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Whether the browser says this request comes from another site: the
/// `Sec-Fetch-Site` header (every current browser sends it), else an
/// `Origin` that is not this host.
fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (None, _) => false,
        (Some(origin), Some(host)) => match (origin.to_str(), host.to_str()) {
            (Ok(origin), Ok(host)) => origin != format!("http://{host}"),
            (Ok(_) | Err(_), Ok(_) | Err(_)) => true,
        },
        (Some(_), None) => true,
    }
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    )
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/app.css"))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::same_origin(Some("same-origin"), None, false)]
    #[case::typed_url(Some("none"), None, false)]
    #[case::other_site(Some("cross-site"), None, true)]
    #[case::same_site_other_port(Some("same-site"), None, true)]
    #[case::foreign_origin(None, Some("http://evil.example"), true)]
    #[case::own_origin(None, Some("http://127.0.0.1:8765"), false)]
    #[case::no_headers(None, None, false)]
    fn cross_site_requests_are_recognised(
        #[case] site: Option<&str>,
        #[case] origin: Option<&str>,
        #[case] cross: bool,
    ) {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8765"));
        if let Some(site) = site {
            headers.insert("sec-fetch-site", HeaderValue::from_str(site).unwrap());
        }
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        assert_eq!(is_cross_site(&headers), cross);
    }
}
