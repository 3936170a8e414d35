//! `GET /metrics`: the daemon's counters and the queue's job counts in the
//! Prometheus text exposition format (token required like the other routes;
//! configure the scraper with the bearer token).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use leash_store::JobState;

use crate::context::DaemonContext;
use crate::http::api_error::ApiError;
use crate::http::blocking::on_blocking_pool;

/// The content type of the text format, version 0.0.4.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(crate) async fn metrics(State(ctx): State<Arc<DaemonContext>>) -> Result<Response, ApiError> {
    let counts = on_blocking_pool(&ctx, |ctx| ctx.with_store(|store| store.job_counts())).await?;
    // Every state appears, zero included, so a scraper sees a series drop to 0.
    let per_state: Vec<(&str, i64)> = JobState::ALL
        .iter()
        .map(|state| {
            let count = counts
                .iter()
                .find(|(counted, _)| counted == state)
                .map_or(0, |(_, n)| *n);
            (state.as_str(), count)
        })
        .collect();
    let text = ctx
        .metrics
        .render(&per_state, ctx.started.elapsed().as_secs());
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROMETHEUS_TEXT),
    );
    Ok(response)
}
