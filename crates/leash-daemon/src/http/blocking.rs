//! Store work from async handlers: SQLite commits wait for fsync, so every
//! call into the store runs on tokio's blocking pool, never on a runtime
//! worker that serves other requests.

use std::sync::Arc;

use crate::context::DaemonContext;
use crate::http::api_error::ApiError;

/// Runs `work` with the context on the blocking pool.
pub(crate) async fn on_blocking_pool<T, E>(
    ctx: &Arc<DaemonContext>,
    work: impl FnOnce(&DaemonContext) -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    let ctx = Arc::clone(ctx);
    tokio::task::spawn_blocking(move || work(&ctx))
        .await?
        .map_err(Into::into)
}
