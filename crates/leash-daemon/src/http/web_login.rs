//! `POST /v1/web/login-link` (token required): a one-time link that logs a
//! browser into the web page (`leash web-login` prints it). The link works
//! once, for two minutes.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use crate::context::DaemonContext;
use crate::http::api_error::ApiError;

/// `{"url": "http://HOST/ui/login/CODE"}`.
pub(crate) async fn login_link(
    State(ctx): State<Arc<DaemonContext>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let code = ctx
        .web
        .new_login_code()
        .ok_or_else(|| ApiError::internal("no login code could be made (too many unused ones?)"))?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| ctx.loaded.config.api.listen.to_string(), str::to_owned);
    Ok(Json(
        json!({"url": format!("http://{host}/ui/login/{code}")}),
    ))
}
