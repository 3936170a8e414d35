//! The web page's handlers: pages (GET) and forms (POST). Forms answer with
//! a redirect to the page they came from (post/redirect/get), or with that
//! page and a notice saying why not. Every form's CSRF token is checked
//! first; answers are recorded with channel `web`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use leash_store::ApprovalState;

use super::html::page;
use super::session::{cleared_cookie, cookie_for};
use super::{WebSession, pages};
use crate::approvals::{DecideError, RemoteAnswer};
use crate::context::DaemonContext;
use crate::grants::{GrantRefused, GrantSpec, ScopeKind};
use crate::http::api_error::ApiError;
use crate::http::blocking::on_blocking_pool;
use crate::secret::secrets_match;

/// Who answers through the page, for the audit log.
const WEB_BY: &str = "web";
/// The channel recorded for answers from the page.
const WEB_CHANNEL: &str = "web";

type FormFields = Form<HashMap<String, String>>;

/// A page, or an error page with `status`.
fn html(status: StatusCode, title: &str, main: String, session: Option<&WebSession>) -> Response {
    let live = session.is_some();
    (
        status,
        Html(page(title, &main, live, session.map(|s| s.csrf.as_str()))),
    )
        .into_response()
}

fn failure(err: ApiError, session: &WebSession) -> Response {
    let (status, detail) = (err.code.status(), err.detail);
    html(
        status,
        "Error",
        format!(
            "<h1>That did not work</h1><p class=\"notice\">{}</p>",
            super::html::esc(&detail)
        ),
        Some(session),
    )
}

/// A page from what was loaded for it, or the error page.
fn rendered<T>(
    loaded: Result<T, ApiError>,
    status: StatusCode,
    title: &str,
    session: &WebSession,
    body: impl FnOnce(T) -> String,
) -> Response {
    match loaded {
        Ok(value) => html(status, title, body(value), Some(session)),
        Err(err) => failure(err, session),
    }
}

/// Whether the form carries this session's CSRF token.
pub(super) fn csrf_ok(session: &WebSession, form: &HashMap<String, String>) -> bool {
    form.get("csrf")
        .is_some_and(|given| secrets_match(&session.csrf, given))
}

pub(super) fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "the form's CSRF token is missing or wrong; reload the page",
    )
        .into_response()
}

pub(crate) async fn jobs_page(
    State(ctx): State<Arc<DaemonContext>>,
    Extension(session): Extension<WebSession>,
) -> Response {
    let jobs = on_blocking_pool(&ctx, |ctx| {
        ctx.with_store(|store| store.jobs(None, pages::JOB_LIST_LIMIT))
    })
    .await;
    rendered(jobs, StatusCode::OK, "Jobs", &session, |jobs| {
        pages::jobs(&jobs)
    })
}

pub(crate) async fn job_page(
    State(ctx): State<Arc<DaemonContext>>,
    Extension(session): Extension<WebSession>,
    Path(id): Path<i64>,
) -> Response {
    let found = on_blocking_pool(&ctx, move |ctx| {
        let job = ctx.with_store(|store| store.job(id))?;
        let records = ctx.audit.for_job(id)?;
        Ok::<_, crate::error::DaemonError>((job, records))
    })
    .await;
    match found {
        Ok((Some(job), records)) => html(
            StatusCode::OK,
            &format!("Job {id}"),
            pages::job_story(&job, &records),
            Some(&session),
        ),
        Ok((None, _)) => failure(
            ApiError::not_found(format!("job {id} does not exist")),
            &session,
        ),
        Err(err) => failure(err, &session),
    }
}

pub(super) async fn render_approvals(
    ctx: &Arc<DaemonContext>,
    session: &WebSession,
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    let pending = on_blocking_pool(ctx, |ctx| {
        ctx.with_store(|store| store.approvals(Some(ApprovalState::Pending)))
    })
    .await;
    rendered(pending, status, "Approvals", session, |pending| {
        pages::approvals(&pending, &session.csrf, notice.as_deref())
            + &super::fleet_approvals::section(&ctx.fleet_notices.pending(), &session.csrf)
    })
}

pub(crate) async fn approvals_page(
    State(ctx): State<Arc<DaemonContext>>,
    Extension(session): Extension<WebSession>,
) -> Response {
    render_approvals(&ctx, &session, StatusCode::OK, None).await
}

/// What a form asked of an approval.
enum Choice {
    Approve,
    /// With the person's reason, if they gave one.
    Deny(Option<String>),
    Grant(GrantSpec),
}

async fn decide(ctx: Arc<DaemonContext>, session: WebSession, id: i64, choice: Choice) -> Response {
    let done = on_blocking_pool(&ctx, move |ctx| -> Result<(), GrantRefused> {
        let approval = ctx
            .with_store(|store| store.approval(id))?
            .ok_or(DecideError::NotFound { id })?;
        // The session is as trusted as the token holder, who may read the
        // nonce (`GET /v1/approvals/{id}`).
        let nonce = approval.nonce;
        match choice {
            Choice::Approve => {
                ctx.decide_approval(
                    id,
                    nonce.expose(),
                    RemoteAnswer::Approve,
                    WEB_CHANNEL,
                    WEB_BY,
                )?;
            }
            Choice::Deny(reason) => {
                ctx.decide_approval_with_reason(
                    id,
                    nonce.expose(),
                    RemoteAnswer::Deny,
                    WEB_CHANNEL,
                    WEB_BY,
                    reason.as_deref(),
                )?;
            }
            Choice::Grant(spec) => {
                ctx.approve_with_grant(id, nonce.expose(), &spec, WEB_CHANNEL, WEB_BY)?;
            }
        }
        Ok(())
    })
    .await;
    match done {
        Ok(()) => Redirect::to("/ui/approvals").into_response(),
        Err(err) => {
            let (status, detail) = (err.code.status(), err.detail);
            render_approvals(&ctx, &session, status, Some(detail)).await
        }
    }
}

/// `POST /ui/approvals/{id}/{approve|deny|grant}`.
pub(crate) async fn answer(
    State(ctx): State<Arc<DaemonContext>>,
    Extension(session): Extension<WebSession>,
    Path((id, answer)): Path<(i64, String)>,
    Form(form): FormFields,
) -> Response {
    if !csrf_ok(&session, &form) {
        return csrf_refused();
    }
    match answer.as_str() {
        "approve" => decide(ctx, session, id, Choice::Approve).await,
        "deny" => {
            match leash_core::approval::refusal_reason(form.get("reason").map(String::as_str)) {
                Ok(reason) => decide(ctx, session, id, Choice::Deny(reason)).await,
                Err(err) => {
                    render_approvals(
                        &ctx,
                        &session,
                        StatusCode::BAD_REQUEST,
                        Some(err.to_string()),
                    )
                    .await
                }
            }
        }
        "grant" => grant(ctx, session, id, &form).await,
        other => failure(
            ApiError::not_found(format!("no answer {other:?}; approve, deny or grant")),
            &session,
        ),
    }
}

async fn grant(
    ctx: Arc<DaemonContext>,
    session: WebSession,
    id: i64,
    form: &HashMap<String, String>,
) -> Response {
    let scope = match form.get("scope").map(String::as_str) {
        None | Some("job") => ScopeKind::Job,
        Some("trigger") => ScopeKind::Trigger,
        Some("workspace") => ScopeKind::Workspace,
        Some(other) => {
            let notice = format!("unknown scope {other:?}");
            return render_approvals(&ctx, &session, StatusCode::BAD_REQUEST, Some(notice)).await;
        }
    };
    let minutes = match form
        .get("minutes")
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
    {
        None => None,
        Some(text) => match text.parse::<u64>() {
            Ok(minutes) => Some(minutes),
            Err(_) => {
                let notice = format!("minutes must be a whole number, not {text:?}");
                return render_approvals(&ctx, &session, StatusCode::BAD_REQUEST, Some(notice))
                    .await;
            }
        },
    };
    let spec = GrantSpec {
        pattern: form
            .get("pattern")
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty()),
        scope: Some(scope),
        minutes,
        ..GrantSpec::default()
    };
    decide(ctx, session, id, Choice::Grant(spec)).await
}

pub(crate) async fn grants_page(
    State(ctx): State<Arc<DaemonContext>>,
    Extension(session): Extension<WebSession>,
) -> Response {
    let grants = on_blocking_pool(&ctx, |ctx| ctx.with_store(|store| store.grants(true))).await;
    rendered(grants, StatusCode::OK, "Grants", &session, |grants| {
        pages::grants(&grants, &session.csrf)
    })
}

pub(crate) async fn revoke(
    State(ctx): State<Arc<DaemonContext>>,
    Extension(session): Extension<WebSession>,
    Path(id): Path<i64>,
    Form(form): FormFields,
) -> Response {
    if !csrf_ok(&session, &form) {
        return csrf_refused();
    }
    match on_blocking_pool(&ctx, move |ctx| ctx.revoke_grant(id, WEB_BY, WEB_CHANNEL)).await {
        Ok(_) => Redirect::to("/ui/grants").into_response(),
        Err(err) => failure(err, &session),
    }
}

async fn render_audit(
    ctx: &Arc<DaemonContext>,
    session: &WebSession,
    verdict: Option<String>,
) -> Response {
    let records = on_blocking_pool(ctx, |ctx| ctx.audit.tail(pages::AUDIT_LIMIT)).await;
    rendered(records, StatusCode::OK, "Audit", session, |records| {
        pages::audit(&records, &session.csrf, verdict.as_deref())
    })
}

pub(crate) async fn audit_page(
    State(ctx): State<Arc<DaemonContext>>,
    Extension(session): Extension<WebSession>,
) -> Response {
    render_audit(&ctx, &session, None).await
}

pub(crate) async fn verify(
    State(ctx): State<Arc<DaemonContext>>,
    Extension(session): Extension<WebSession>,
    Form(form): FormFields,
) -> Response {
    if !csrf_ok(&session, &form) {
        return csrf_refused();
    }
    let verdict = match on_blocking_pool(&ctx, |ctx| ctx.audit.verify()).await {
        Ok(report) if report.ok => {
            format!("Intact: {} records, the hash chain holds.", report.records)
        }
        Ok(report) => format!(
            "BROKEN at record {}: {}",
            report
                .first_bad_seq
                .map_or_else(|| "?".to_owned(), |s| s.to_string()),
            report.problem.unwrap_or_default()
        ),
        Err(err) => err.detail,
    };
    render_audit(&ctx, &session, Some(verdict)).await
}

pub(crate) async fn login_page() -> Response {
    html(StatusCode::OK, "Log in", pages::login(None), None)
}

/// Opens a session and sends the person to the job list.
fn logged_in(ctx: &DaemonContext) -> Response {
    let Some(id) = ctx.web.open() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "no session could be opened",
        )
            .into_response();
    };
    let mut response = Redirect::to("/ui/").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&cookie_for(&id)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

pub(crate) async fn login_token(
    State(ctx): State<Arc<DaemonContext>>,
    Form(form): FormFields,
) -> Response {
    let given = form.get("token").map(|t| t.trim()).unwrap_or_default();
    if secrets_match(ctx.api_token.expose(), given) {
        tracing::info!("web page: logged in with the API token");
        logged_in(&ctx)
    } else {
        tracing::warn!("web page: a login with a wrong token was refused");
        login_refused("That is not the API token.")
    }
}

/// The login page again, with why the login failed (401).
fn login_refused(problem: &str) -> Response {
    html(
        StatusCode::UNAUTHORIZED,
        "Log in",
        pages::login(Some(problem)),
        None,
    )
}

pub(crate) async fn login_link(
    State(ctx): State<Arc<DaemonContext>>,
    Path(code): Path<String>,
) -> Response {
    if ctx.web.redeem_code(&code) {
        tracing::info!("web page: logged in with a one-time link");
        logged_in(&ctx)
    } else {
        login_refused("That login link was used already or has expired.")
    }
}

pub(crate) async fn logout(
    State(ctx): State<Arc<DaemonContext>>,
    Extension(session): Extension<WebSession>,
    Form(form): FormFields,
) -> Response {
    if !csrf_ok(&session, &form) {
        return csrf_refused();
    }
    ctx.web.close(&session.id);
    let mut response = Redirect::to("/ui/login").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&cleared_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
