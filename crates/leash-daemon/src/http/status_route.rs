//! `GET /v1/status`: what a person checks on the phone — the daemon, the
//! backend and model, the queue, pending approvals, and the resource
//! governor's state with its last reading.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use leash_store::{ApprovalState, JobState};
use serde_json::{Value, json};

use crate::context::DaemonContext;
use crate::http::api_error::ApiError;
use crate::http::blocking::on_blocking_pool;

pub(crate) async fn status(State(ctx): State<Arc<DaemonContext>>) -> Result<Json<Value>, ApiError> {
    let (counts, pending) = on_blocking_pool(&ctx, |ctx| {
        ctx.with_store(|store| {
            let counts = store.job_counts()?;
            let pending = store.approvals(Some(ApprovalState::Pending))?.len();
            Ok((counts, pending))
        })
    })
    .await?;
    let queue: serde_json::Map<String, Value> = JobState::ALL
        .iter()
        .map(|state| {
            let count = counts
                .iter()
                .find(|(counted, _)| counted == state)
                .map_or(0, |(_, n)| *n);
            (state.as_str().to_string(), json!(count))
        })
        .collect();
    let model = &ctx.loaded.config.model;
    Ok(Json(json!({
        "daemon": {
            "pid": std::process::id(),
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": ctx.started.elapsed().as_secs(),
        },
        "model": {
            "backend": model.backend.as_str(),
            "path": model.effective_path(&ctx.loaded.paths),
            "base_url": model.base_url,
            "name": model.name,
        },
        "queue": queue,
        "pending_approvals": pending,
        "governor": ctx.governor.snapshot(),
    })))
}
