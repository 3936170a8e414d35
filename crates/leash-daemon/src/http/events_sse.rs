//! `GET /v1/events`: the daemon's [`DaemonEvent`]s as server-sent events, one
//! `data:` line of JSON per event (the JSON's `event` member says which kind),
//! a `: keep-alive` comment every 15 s, and the stream ends when the daemon
//! stops (so a graceful shutdown is not held up by listeners).
//!
//! A listener that falls more than the bus's capacity behind gets
//! `{"event": "lagged", "missed": N}` and continues with the newest events;
//! everything that matters is also in the audit log (`GET /v1/audit`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::json;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use crate::context::DaemonContext;
use crate::events::DaemonEvent;

/// Time between keep-alive comments (proxies and phones drop silent connections).
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The route handler.
pub(crate) async fn stream_events(
    State(ctx): State<Arc<DaemonContext>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribe before answering, so every event published after the client
    // has the response headers reaches it.
    let receiver = ctx.events.subscribe();
    let hello = stream::once(async { Ok(Event::default().comment("leash events")) });
    let events = stream::unfold((ctx, receiver), |(ctx, mut receiver)| async move {
        let event = next_event(&ctx, &mut receiver).await?;
        Some((Ok(event), (ctx, receiver)))
    });
    Sse::new(hello.chain(events)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// The next event to send, or `None` when the stream should end.
async fn next_event(ctx: &DaemonContext, receiver: &mut Receiver<DaemonEvent>) -> Option<Event> {
    loop {
        let received = tokio::select! {
            () = ctx.stopped() => return None,
            received = receiver.recv() => received,
        };
        let data = match received {
            Ok(event) => serde_json::to_string(&event),
            Err(RecvError::Lagged(missed)) => {
                Ok(json!({"event": "lagged", "missed": missed}).to_string())
            }
            Err(RecvError::Closed) => return None,
        };
        match data {
            Ok(data) => return Some(Event::default().data(data)),
            Err(err) => tracing::warn!(error = %err, "an event could not be serialized; skipped"),
        }
    }
}
