//! `POST /v1/jobs/{id}/undo[?dry_run=true][&force=true]`: `leash undo JOB`
//! over the API, with the same checks: a target changed since leash changed
//! it is not overwritten without `force` (409, naming the path), undo never
//! writes outside the roots or through a link (409), a job still running is
//! not undone (409), and every restore is audited.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use leash_undo::{Selection, UndoError, UndoOptions};
use serde::Deserialize;
use serde_json::json;

use crate::context::DaemonContext;
use crate::http::api_error::{ApiError, ErrorCode};
use crate::http::blocking::on_blocking_pool;
use crate::http::extract::{ApiQuery, PathId};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UndoQuery {
    dry_run: Option<bool>,
    force: Option<bool>,
}

/// 200 `{"undo": report}`; 404 unknown job or nothing journaled; 409 as above.
pub(crate) async fn undo(
    State(ctx): State<Arc<DaemonContext>>,
    PathId(id): PathId,
    ApiQuery(query): ApiQuery<UndoQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let report = on_blocking_pool(&ctx, move |ctx| undo_job(ctx, id, &query)).await?;
    Ok(Json(json!({"undo": report})))
}

fn undo_job(
    ctx: &DaemonContext,
    id: i64,
    query: &UndoQuery,
) -> Result<leash_undo::UndoReport, ApiError> {
    let job = ctx
        .with_store(|store| store.job(id))
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("job {id} does not exist")))?;
    if job.state.is_active() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "job {id} is {}; undo it once it has ended",
                job.state.as_str()
            ),
        ));
    }
    let journal = leash_core::open_journal(&ctx.loaded).map_err(ApiError::internal)?;
    let here = std::env::current_dir().unwrap_or_default();
    let options = UndoOptions {
        dry_run: query.dry_run.unwrap_or(false),
        force: query.force.unwrap_or(false),
        roots: leash_core::undo_roots(&ctx.loaded, &here, job.workspace.as_deref()),
    };
    leash_undo::undo(&journal, &ctx.audit, Selection::Job(id), &options).map_err(|err| match err {
        UndoError::Nothing(why) => ApiError::not_found(why),
        UndoError::Changed { .. } | UndoError::Unsafe { .. } => {
            ApiError::new(ErrorCode::Conflict, err.to_string())
        }
        other => ApiError::internal(other),
    })
}
