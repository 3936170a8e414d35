//! `GET /v1/audit?after=SEQ&limit=N`: audit records after a sequence number,
//! oldest first, for clients that follow the log (`next_after` is the `after`
//! of the next call).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::context::DaemonContext;
use crate::http::api_error::ApiError;
use crate::http::blocking::on_blocking_pool;
use crate::http::extract::ApiQuery;

/// Records per answer without `limit`.
const DEFAULT_LIMIT: u32 = 100;
/// The most records one answer carries.
pub(crate) const MAX_LIMIT: u32 = 1000;

/// The query of `GET /v1/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    after: Option<u64>,
    limit: Option<u32>,
}

/// `{"records": [...], "head_seq": N, "next_after": SEQ}`.
pub(crate) async fn list(
    State(ctx): State<Arc<DaemonContext>>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let after = query.after.unwrap_or(0);
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
        Some(limit) => {
            return Err(ApiError::bad_request(format!(
                "`limit` must be between 1 and {MAX_LIMIT}, found {limit}"
            )));
        }
    };
    let (mut records, head_seq) = on_blocking_pool(&ctx, move |ctx| {
        let head = ctx.audit.head_seq()?;
        // Sequence numbers have no gaps, so a client that is up to date
        // (the usual follower) reads only what is new.
        let records = ctx.audit.after_limited(after, u64::from(limit))?;
        Ok::<_, leash_store::StoreError>((records, head))
    })
    .await?;
    records.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_after = records.last().map_or(after, |record| record.seq);
    Ok(Json(json!({
        "records": records,
        "head_seq": head_seq,
        "next_after": next_after,
    })))
}
